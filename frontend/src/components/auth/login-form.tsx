"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { FormError } from "@/components/ui/form-error";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { PasswordField } from "@/components/ui/password-field";
import { PendingButton } from "@/components/ui/pending-button";
import type { Dictionary } from "@/i18n/dictionaries";
import { useI18n } from "@/i18n/provider";
import { api, unwrap } from "@/lib/api/client";
import { ApiError } from "@/lib/api/errors";

function problemText(error: unknown, t: Dictionary, secondsLeft: number): string {
  if (!(error instanceof ApiError)) return t.login.failed(String(error));
  switch (error.code) {
    case "invalid_credentials":
      return t.login.invalidCredentials;
    case "too_many_requests":
      return error.retryAfter === null
        ? t.login.tooManyAttemptsLater
        : t.login.tooManyAttempts(Math.max(secondsLeft, 1));
    case "api_unavailable":
    case "network_error":
      return t.login.unavailable;
    default:
      return t.login.failed(error.message);
  }
}

export function LoginForm({ next }: { next: string }) {
  const { t } = useI18n();
  const router = useRouter();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [waitUntil, setWaitUntil] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());

  // Count the Retry-After wait down, and let the form be used again when it is over.
  useEffect(() => {
    if (waitUntil === null) return;
    const timer = window.setInterval(() => {
      const current = Date.now();
      setNow(current);
      if (current >= waitUntil) {
        setWaitUntil(null);
        setError(null);
      }
    }, 1000);
    return () => window.clearInterval(timer);
  }, [waitUntil]);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    try {
      await unwrap(
        api.POST("/api/v1/auth/login", {
          body: { username: String(form.get("username")), password: String(form.get("password")) },
        }),
      );
      router.replace(next);
      router.refresh();
    } catch (caught) {
      setError(caught);
      setPending(false);
      if (caught instanceof ApiError && caught.retryAfter !== null) {
        const start = Date.now();
        setNow(start);
        setWaitUntil(start + caught.retryAfter * 1000);
      }
    }
  }

  const secondsLeft = waitUntil === null ? 0 : Math.ceil((waitUntil - now) / 1000);
  const waiting = waitUntil !== null && secondsLeft > 0;
  const message = error === null ? null : problemText(error, t, secondsLeft);

  return (
    <form
      onSubmit={onSubmit}
      className="grid gap-4"
      aria-describedby={message ? "login-error" : undefined}
    >
      <div className="grid gap-2">
        <Label htmlFor="username">{t.login.username}</Label>
        <Input
          id="username"
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          maxLength={64}
          autoFocus
          aria-invalid={error instanceof ApiError && error.code === "invalid_credentials"}
        />
      </div>
      <PasswordField
        id="password"
        name="password"
        label={t.login.password}
        purpose="current"
        invalid={error instanceof ApiError && error.code === "invalid_credentials"}
      />
      <FormError id="login-error" message={message} />
      <PendingButton
        type="submit"
        pending={pending}
        pendingText={t.login.submitting}
        disabled={waiting}
        className="w-full"
      >
        {t.login.submit}
      </PendingButton>
    </form>
  );
}
