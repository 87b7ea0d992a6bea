"use client";

import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { useI18n } from "@/i18n/provider";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "@/lib/api/limits";

/**
 * A labelled password input. A `new` password says webapi's minimum under it and lets the
 * browser check it (and offer to generate one); a `current` one takes whatever was set.
 */
export function PasswordField({
  id,
  name,
  label,
  purpose,
  invalid = false,
  autoFocus,
}: {
  id: string;
  name: string;
  label: string;
  purpose: "current" | "new";
  invalid?: boolean;
  autoFocus?: boolean;
}) {
  const { t } = useI18n();
  const fresh = purpose === "new";
  return (
    <div className="grid gap-2">
      <Label htmlFor={id}>{label}</Label>
      <Input
        id={id}
        name={name}
        type="password"
        autoComplete={fresh ? "new-password" : "current-password"}
        required
        minLength={fresh ? MIN_PASSWORD_LENGTH : undefined}
        maxLength={MAX_PASSWORD_LENGTH}
        aria-invalid={invalid}
        aria-describedby={fresh ? `${id}-hint` : undefined}
        autoFocus={autoFocus}
      />
      {fresh && (
        <p id={`${id}-hint`} className="text-xs text-muted-foreground">
          {t.password.hint(MIN_PASSWORD_LENGTH)}
        </p>
      )}
    </div>
  );
}
