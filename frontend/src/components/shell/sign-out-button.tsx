"use client";

import { LogOutIcon } from "lucide-react";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { useI18n } from "@/i18n/provider";
import { api, unwrap } from "@/lib/api/client";
import { ApiError } from "@/lib/api/errors";

export function SignOutButton({ username }: { username: string }) {
  const { t } = useI18n();
  const router = useRouter();
  const [pending, setPending] = useState(false);
  const [failed, setFailed] = useState(false);

  async function signOut() {
    setPending(true);
    setFailed(false);
    try {
      await unwrap(api.POST("/api/v1/auth/logout", { body: {} }));
    } catch (error) {
      // An expired session is signed out already.
      if (!(error instanceof ApiError && error.unauthorized)) {
        setFailed(true);
        setPending(false);
        return;
      }
    }
    router.replace("/login");
    router.refresh();
  }

  const label = pending ? t.header.signingOut : t.header.signOut;
  return (
    <>
      <Button
        variant="ghost"
        size="icon"
        onClick={signOut}
        disabled={pending}
        aria-label={label}
        aria-describedby={failed ? "sign-out-failed" : undefined}
        title={failed ? t.errors.signOutFailed : `${t.header.signedInAs(username)} · ${label}`}
        className={failed ? "text-destructive" : undefined}
      >
        <LogOutIcon aria-hidden />
      </Button>
      <span id="sign-out-failed" role="status" className="sr-only">
        {failed ? t.errors.signOutFailed : ""}
      </span>
    </>
  );
}
