"use client";

import { PlusIcon } from "lucide-react";
import { useState, type FormEvent } from "react";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogActions,
  DialogContent,
  DialogDescription,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "@/components/ui/dialog";
import { FormError } from "@/components/ui/form-error";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { PasswordField } from "@/components/ui/password-field";
import { PendingButton } from "@/components/ui/pending-button";
import { useAccountsTexts } from "@/i18n/accounts";
import { useI18n } from "@/i18n/provider";
import { api, unwrap } from "@/lib/api/client";
import { ApiError } from "@/lib/api/errors";
import { MAX_USERNAME_LENGTH } from "@/lib/api/limits";
import { problemText } from "@/lib/api/problem-text";
import type { ManagedAccount } from "@/lib/api/types";

/** An admin adds a console account (POST /api/v1/accounts). */
export function NewAccountDialog({ onCreated }: { onCreated: (account: ManagedAccount) => void }) {
  const { t } = useI18n();
  const texts = useAccountsTexts();
  const [open, setOpen] = useState(false);
  const [pending, setPending] = useState(false);
  const [problem, setProblem] = useState<{ text: string; nameTaken: boolean } | null>(null);

  function changeOpen(next: boolean) {
    if (!next) setProblem(null);
    setOpen(next);
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setProblem(null);
    try {
      const created = await unwrap(
        api.POST("/api/v1/accounts", {
          body: {
            username: String(form.get("username")),
            password: String(form.get("password")),
            is_admin: form.get("is_admin") === "on",
          },
        }),
      );
      setOpen(false);
      onCreated(created);
    } catch (error) {
      const nameTaken = error instanceof ApiError && error.code === "conflict";
      setProblem({ text: nameTaken ? texts.create.taken : problemText(error, t), nameTaken });
    } finally {
      setPending(false);
    }
  }

  return (
    <Dialog open={open} onOpenChange={changeOpen}>
      <DialogTrigger asChild>
        <Button>
          <PlusIcon aria-hidden />
          {texts.newAccount}
        </Button>
      </DialogTrigger>
      <DialogContent closeLabel={t.common.close}>
        <DialogHeader>
          <DialogTitle>{texts.create.title}</DialogTitle>
          <DialogDescription>{texts.create.description}</DialogDescription>
        </DialogHeader>
        <form
          onSubmit={onSubmit}
          className="grid gap-4"
          aria-describedby={problem ? "new-account-error" : undefined}
        >
          <div className="grid gap-2">
            <Label htmlFor="new-account-username">{texts.create.username}</Label>
            <Input
              id="new-account-username"
              name="username"
              autoComplete="off"
              autoCapitalize="none"
              spellCheck={false}
              required
              maxLength={MAX_USERNAME_LENGTH}
              // No outer spaces: webapi refuses them, and they would be invisible in the list.
              pattern="\S(.*\S)?"
              aria-invalid={problem?.nameTaken ?? false}
            />
          </div>
          <PasswordField
            id="new-account-password"
            name="password"
            label={texts.create.password}
            purpose="new"
          />
          <div className="flex items-center gap-2">
            <input
              id="new-account-admin"
              name="is_admin"
              type="checkbox"
              className="size-4 rounded border-input accent-primary"
            />
            <Label htmlFor="new-account-admin">{texts.create.isAdmin}</Label>
          </div>
          <FormError id="new-account-error" message={problem?.text ?? null} />
          <DialogActions cancelLabel={texts.cancel}>
            <PendingButton type="submit" pending={pending} pendingText={texts.create.submitting}>
              {texts.create.submit}
            </PendingButton>
          </DialogActions>
        </form>
      </DialogContent>
    </Dialog>
  );
}
