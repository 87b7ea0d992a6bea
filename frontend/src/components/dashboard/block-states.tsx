"use client";

import { DatabaseIcon, DownloadIcon } from "lucide-react";
import { useRouter } from "next/navigation";
import type { MouseEvent } from "react";
import { Button } from "@/components/ui/button";
import { useI18n } from "@/i18n/provider";
import { loginPath } from "@/lib/next-path";
import { cn } from "@/lib/utils";

export const SEED_COMMAND =
  "flask --app webapi seed-demo --users 1000 --messages 100000 --days 90 --seed 1";

export function BlockEmpty({ className }: { className?: string }) {
  const { t } = useI18n();
  return (
    <div
      className={cn(
        "flex flex-col items-center gap-3 rounded-lg border border-dashed p-6 text-center text-sm",
        className,
      )}
    >
      <DatabaseIcon className="size-6 text-muted-foreground" aria-hidden />
      <div className="grid gap-1">
        <p className="font-medium">{t.block.emptyTitle}</p>
        <p className="text-muted-foreground">{t.block.emptyBody}</p>
      </div>
      <code className="max-w-full rounded-md bg-muted px-3 py-2 text-left font-mono text-xs break-words whitespace-pre-wrap">
        {SEED_COMMAND}
      </code>
    </div>
  );
}

export function CsvLink({ href, what }: { href: string; what: string }) {
  const { t } = useI18n();
  const router = useRouter();

  // A download after the session ended would save webapi's 401 as the file: ask first, and
  // send the visitor to sign in instead. A modified click (new tab, save as) is the browser's.
  async function onClick(event: MouseEvent<HTMLAnchorElement>) {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    const session = await fetch("/api/v1/auth/me", { cache: "no-store" }).catch(() => null);
    if (session?.status === 401) {
      router.replace(loginPath(window.location.pathname + window.location.search));
      return;
    }
    window.location.assign(href); // an attachment: the page stays
  }

  return (
    <Button variant="outline" size="sm" asChild>
      <a href={href} download aria-label={t.csv.label(what)} onClick={onClick}>
        <DownloadIcon aria-hidden />
        {t.csv.download}
      </a>
    </Button>
  );
}
