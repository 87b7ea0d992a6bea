"use client";

import { RefreshCwIcon, TriangleAlertIcon } from "lucide-react";
import { useRouter } from "next/navigation";
import { useTransition } from "react";
import { Button } from "@/components/ui/button";
import { useI18n } from "@/i18n/provider";

/** webapi cannot be reached: say so, and try again on request. */
export function ApiUnavailable() {
  const { t } = useI18n();
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  return (
    <main className="mx-auto grid min-h-dvh max-w-lg content-center justify-items-start gap-3 px-4">
      <div role="alert" className="grid justify-items-start gap-3">
        <TriangleAlertIcon className="size-6 text-destructive" aria-hidden />
        <h1 className="text-xl font-semibold">{t.errors.apiUnavailable}</h1>
        <p className="text-sm text-muted-foreground">{t.errors.apiUnavailableBody}</p>
      </div>
      <Button
        variant="outline"
        disabled={pending}
        onClick={() => startTransition(() => router.refresh())}
      >
        <RefreshCwIcon className={pending ? "animate-spin" : undefined} aria-hidden />
        {t.common.retry}
      </Button>
    </main>
  );
}
