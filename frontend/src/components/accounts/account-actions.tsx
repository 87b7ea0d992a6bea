"use client";

import {
  BanIcon,
  CircleCheckIcon,
  EllipsisIcon,
  KeyRoundIcon,
  LoaderCircleIcon,
} from "lucide-react";
import { useState, type FormEvent } from "react";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogActions,
  DialogContent,
  DialogDescription,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { FormError } from "@/components/ui/form-error";
import { PasswordField } from "@/components/ui/password-field";
import { PendingButton } from "@/components/ui/pending-button";
import { useAccountsTexts } from "@/i18n/accounts";
import { useI18n } from "@/i18n/provider";
import { api, unwrap } from "@/lib/api/client";
import { problemText } from "@/lib/api/problem-text";
import type { ManagedAccount } from "@/lib/api/types";

type Open = "none" | "reset" | "disable";

/**
 * One account's row actions: reset its password, disable it (after a confirmation) or enable
 * it again. An admin's own account cannot be disabled, so that one admin always remains.
 */
export function AccountActions({
  account,
  isSelf,
  onChanged,
  onNotice,
}: {
  account: ManagedAccount;
  isSelf: boolean;
  /** The account changed: read the list again. */
  onChanged: () => void;
  onNotice: (text: string) => void;
}) {
  const { t } = useI18n();
  const texts = useAccountsTexts();
  const [open, setOpen] = useState<Open>("none");
  const [pending, setPending] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  function show(next: Open) {
    setProblem(null);
    setOpen(next);
  }

  async function run(action: () => Promise<string>) {
    setPending(true);
    setProblem(null);
    try {
      const notice = await action();
      setOpen("none");
      onNotice(notice);
    } catch (error) {
      const text = problemText(error, t);
      // With no dialog open (enabling), the screen's notice carries the problem.
      if (open === "none") onNotice(text);
      else setProblem(text);
    } finally {
      setPending(false);
    }
  }

  const setDisabled = (disabled: boolean) =>
    run(async () => {
      await unwrap(
        api.PATCH("/api/v1/accounts/{account_id}", {
          params: { path: { account_id: account.id } },
          body: { disabled },
        }),
      );
      onChanged();
      return disabled
        ? texts.disableConfirm.done(account.username)
        : texts.enabled(account.username);
    });

  function resetPassword(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget).get("password"));
    void run(async () => {
      await unwrap(
        api.POST("/api/v1/accounts/{account_id}/password", {
          params: { path: { account_id: account.id } },
          body: { password },
        }),
      );
      return texts.reset.done(account.username);
    });
  }

  return (
    <>
      <DropdownMenu>
        <DropdownMenuTrigger asChild>
          <Button
            variant="ghost"
            size="icon"
            aria-label={texts.actionsFor(account.username)}
            disabled={pending}
          >
            {pending && open === "none" ? (
              <LoaderCircleIcon className="animate-spin" aria-hidden />
            ) : (
              <EllipsisIcon aria-hidden />
            )}
          </Button>
        </DropdownMenuTrigger>
        <DropdownMenuContent align="end">
          <DropdownMenuItem onSelect={() => show("reset")}>
            <KeyRoundIcon aria-hidden />
            {texts.resetPassword}
          </DropdownMenuItem>
          {account.disabled ? (
            <DropdownMenuItem onSelect={() => void setDisabled(false)}>
              <CircleCheckIcon aria-hidden />
              {texts.enable}
            </DropdownMenuItem>
          ) : (
            !isSelf && (
              <DropdownMenuItem onSelect={() => show("disable")} className="text-destructive">
                <BanIcon aria-hidden />
                {texts.disable}
              </DropdownMenuItem>
            )
          )}
        </DropdownMenuContent>
      </DropdownMenu>

      <Dialog open={open === "reset"} onOpenChange={(next) => show(next ? "reset" : "none")}>
        <DialogContent closeLabel={t.common.close}>
          <DialogHeader>
            <DialogTitle>{texts.reset.title(account.username)}</DialogTitle>
            <DialogDescription>{texts.reset.description}</DialogDescription>
          </DialogHeader>
          <form
            onSubmit={resetPassword}
            className="grid gap-4"
            aria-describedby={problem ? "reset-password-error" : undefined}
          >
            <PasswordField
              id="reset-password"
              name="password"
              label={texts.reset.password}
              purpose="new"
            />
            <FormError id="reset-password-error" message={problem} />
            <DialogActions cancelLabel={texts.cancel}>
              <PendingButton type="submit" pending={pending} pendingText={texts.reset.submitting}>
                {texts.reset.submit}
              </PendingButton>
            </DialogActions>
          </form>
        </DialogContent>
      </Dialog>

      <Dialog open={open === "disable"} onOpenChange={(next) => show(next ? "disable" : "none")}>
        <DialogContent closeLabel={t.common.close}>
          <DialogHeader>
            <DialogTitle>{texts.disableConfirm.title(account.username)}</DialogTitle>
            <DialogDescription>{texts.disableConfirm.description}</DialogDescription>
          </DialogHeader>
          <FormError id="disable-account-error" message={problem} />
          <DialogActions cancelLabel={texts.cancel}>
            <PendingButton
              variant="destructive"
              pending={pending}
              pendingText={texts.disableConfirm.submitting}
              onClick={() => void setDisabled(true)}
            >
              {texts.disableConfirm.submit}
            </PendingButton>
          </DialogActions>
        </DialogContent>
      </Dialog>
    </>
  );
}
