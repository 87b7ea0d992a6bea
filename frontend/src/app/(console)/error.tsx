"use client";

import { RefreshCwIcon, TriangleAlertIcon } from "lucide-react";
import { Button } from "@/components/ui/button";
import { useI18n } from "@/i18n/provider";

/** What the console shows when a page cannot be rendered (webapi unreachable, mostly). */
export default function ConsoleError({
  reset,
}: {
  error: Error & { digest?: string };
  reset: () => void;
}) {
  const { t } = useI18n();
  return (
    <div role="alert" className="mx-auto grid max-w-lg justify-items-start gap-3 py-16">
      <TriangleAlertIcon className="size-6 text-destructive" aria-hidden />
      <h1 className="text-xl font-semibold">{t.errors.unexpected}</h1>
      <p className="text-sm text-muted-foreground">{t.errors.unexpectedBody}</p>
      <Button variant="outline" onClick={reset}>
        <RefreshCwIcon aria-hidden />
        {t.common.retry}
      </Button>
    </div>
  );
}
