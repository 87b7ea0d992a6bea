"use client";

import { RefreshCwIcon, TriangleAlertIcon } from "lucide-react";
import { Button } from "@/components/ui/button";
import { useI18n } from "@/i18n/provider";

/** A page or layout that could not be rendered. */
export default function RootError({
  reset,
}: {
  error: Error & { digest?: string };
  reset: () => void;
}) {
  const { t } = useI18n();
  return (
    <main className="mx-auto grid min-h-dvh max-w-lg content-center justify-items-start gap-3 px-4">
      <div role="alert" className="grid justify-items-start gap-3">
        <TriangleAlertIcon className="size-6 text-destructive" aria-hidden />
        <h1 className="text-xl font-semibold">{t.errors.unexpected}</h1>
        <p className="text-sm text-muted-foreground">{t.errors.unexpectedBody}</p>
      </div>
      <Button variant="outline" onClick={reset}>
        <RefreshCwIcon aria-hidden />
        {t.common.retry}
      </Button>
    </main>
  );
}
