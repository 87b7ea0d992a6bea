"use client";

import { CheckCircle2Icon } from "lucide-react";
import { useState, type FormEvent } from "react";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogActions,
  DialogClose,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { FormError } from "@/components/ui/form-error";
import { PasswordField } from "@/components/ui/password-field";
import { PendingButton } from "@/components/ui/pending-button";
import { useI18n } from "@/i18n/provider";
import { api, unwrap } from "@/lib/api/client";
import { ApiError } from "@/lib/api/errors";
import { problemText } from "@/lib/api/problem-text";

type Step = { kind: "form"; problem: string | null; wrongCurrent: boolean } | { kind: "done" };

const FRESH: Step = { kind: "form", problem: null, wrongCurrent: false };

/** The signed-in account changes its own password (PUT /api/v1/auth/password). */
export function ChangePasswordDialog({
  open,
  onOpenChange,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const { t } = useI18n();
  const [step, setStep] = useState<Step>(FRESH);
  const [pending, setPending] = useState(false);

  function changeOpen(next: boolean) {
    if (!next) setStep(FRESH);
    onOpenChange(next);
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const current = String(form.get("current_password"));
    const fresh = String(form.get("new_password"));
    if (fresh !== String(form.get("confirm_password"))) {
      setStep({ kind: "form", problem: t.password.mismatch, wrongCurrent: false });
      return;
    }
    setPending(true);
    try {
      await unwrap(
        api.PUT("/api/v1/auth/password", {
          body: { current_password: current, new_password: fresh },
        }),
      );
      setStep({ kind: "done" });
    } catch (error) {
      const wrongCurrent = error instanceof ApiError && error.code === "invalid_credentials";
      setStep({
        kind: "form",
        problem: wrongCurrent ? t.password.wrongCurrent : problemText(error, t),
        wrongCurrent,
      });
    } finally {
      setPending(false);
    }
  }

  return (
    <Dialog open={open} onOpenChange={changeOpen}>
      <DialogContent closeLabel={t.common.close}>
        <DialogHeader>
          <DialogTitle>{t.password.title}</DialogTitle>
          <DialogDescription>{t.password.description}</DialogDescription>
        </DialogHeader>
        {step.kind === "done" ? (
          <>
            <p role="status" className="flex items-center gap-2 text-sm">
              <CheckCircle2Icon
                className="size-4 text-emerald-600 dark:text-emerald-400"
                aria-hidden
              />
              {t.password.changed}
            </p>
            <DialogFooter>
              <DialogClose asChild>
                <Button>{t.common.close}</Button>
              </DialogClose>
            </DialogFooter>
          </>
        ) : (
          <form
            onSubmit={onSubmit}
            className="grid gap-4"
            aria-describedby={step.problem ? "password-error" : undefined}
          >
            <PasswordField
              id="current-password"
              name="current_password"
              label={t.password.current}
              purpose="current"
              invalid={step.wrongCurrent}
            />
            <PasswordField
              id="new-password"
              name="new_password"
              label={t.password.new}
              purpose="new"
            />
            <PasswordField
              id="confirm-password"
              name="confirm_password"
              label={t.password.confirm}
              purpose="new"
            />
            <FormError id="password-error" message={step.problem} />
            <DialogActions cancelLabel={t.password.cancel}>
              <PendingButton type="submit" pending={pending} pendingText={t.password.submitting}>
                {t.password.submit}
              </PendingButton>
            </DialogActions>
          </form>
        )}
      </DialogContent>
    </Dialog>
  );
}
