"use client";

import { KeyRoundIcon, LogOutIcon } from "lucide-react";
import { useRouter } from "next/navigation";
import { useState } from "react";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { useI18n } from "@/i18n/provider";
import { api, unwrap } from "@/lib/api/client";
import { ApiError } from "@/lib/api/errors";
import { ChangePasswordDialog } from "./change-password-dialog";
import { AccountTrigger, type LoadedMenuProps } from "./header-triggers";

/** The signed-in account: its name, changing its password, signing out. */
export function AccountMenu({
  username,
  defaultOpen,
  autoFocus,
}: LoadedMenuProps & { username: string }) {
  const { t } = useI18n();
  const router = useRouter();
  const [changingPassword, setChangingPassword] = useState(false);
  const [signingOut, setSigningOut] = useState(false);
  const [signOutFailed, setSignOutFailed] = useState(false);

  async function signOut() {
    setSigningOut(true);
    setSignOutFailed(false);
    try {
      await unwrap(api.POST("/api/v1/auth/logout", { body: {} }));
    } catch (error) {
      // An expired session is signed out already.
      if (!(error instanceof ApiError && error.unauthorized)) {
        setSignOutFailed(true);
        setSigningOut(false);
        return;
      }
    }
    router.replace("/login");
    router.refresh();
  }

  return (
    <>
      <DropdownMenu defaultOpen={defaultOpen}>
        <DropdownMenuTrigger asChild>
          <AccountTrigger username={username} signOutFailed={signOutFailed} autoFocus={autoFocus} />
        </DropdownMenuTrigger>
        <DropdownMenuContent align="end" className="max-w-64">
          <DropdownMenuLabel className="truncate">
            {t.header.signedInAs(username)}
          </DropdownMenuLabel>
          <DropdownMenuSeparator />
          <DropdownMenuItem onSelect={() => setChangingPassword(true)}>
            <KeyRoundIcon aria-hidden />
            {t.header.changePassword}
          </DropdownMenuItem>
          <DropdownMenuItem disabled={signingOut} onSelect={signOut}>
            <LogOutIcon aria-hidden />
            {signingOut ? t.header.signingOut : t.header.signOut}
          </DropdownMenuItem>
        </DropdownMenuContent>
      </DropdownMenu>
      <span id="sign-out-failed" role="status" className="sr-only">
        {signOutFailed ? t.errors.signOutFailed : ""}
      </span>
      <ChangePasswordDialog open={changingPassword} onOpenChange={setChangingPassword} />
    </>
  );
}
