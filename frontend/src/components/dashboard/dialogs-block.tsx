"use client";

import {
  ArrowDownIcon,
  ArrowUpDownIcon,
  ArrowUpIcon,
  ChevronLeftIcon,
  ChevronRightIcon,
} from "lucide-react";
import dynamic from "next/dynamic";
import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { BlockError, BlockSkeleton } from "@/components/ui/block-states";
import {
  Card,
  CardAction,
  CardContent,
  CardDescription,
  CardHeader,
  CardTitle,
} from "@/components/ui/card";
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableRow,
} from "@/components/ui/table";
import { useI18n } from "@/i18n/provider";
import { api, unwrap } from "@/lib/api/client";
import type { DialogRow, SortKey, StatsDialogsPage } from "@/lib/api/types";
import { messageOutcome } from "@/lib/message-status";
import { displayName } from "@/lib/people";
import { useApiQuery } from "@/lib/use-api-query";
import { cn } from "@/lib/utils";
import { BlockEmpty, CsvLink } from "./block-states";
import { statsSearch, useStatsWindow } from "./stats-context";

const PER_PAGE = 10;

// The sheet (Radix's dialog, the transcript) loads when a dialog is first opened, not with the
// dashboard: its first load stays light.
const TranscriptSheet = dynamic(
  () => import("./transcript-sheet").then((module) => module.TranscriptSheet),
  { ssr: false },
);

type Order = "asc" | "desc";

interface Sorting {
  sort: SortKey;
  order: Order;
}

function SortableHead({
  column,
  label,
  sorting,
  onSort,
  align,
}: {
  column: SortKey;
  label: string;
  sorting: Sorting;
  onSort: (column: SortKey) => void;
  align?: "left" | "right";
}) {
  const { t } = useI18n();
  const active = sorting.sort === column;
  const Icon = !active ? ArrowUpDownIcon : sorting.order === "desc" ? ArrowDownIcon : ArrowUpIcon;
  const state = active
    ? ` (${sorting.order === "desc" ? t.dialogs.descending : t.dialogs.ascending})`
    : "";
  return (
    <TableHead
      align={align}
      aria-sort={active ? (sorting.order === "desc" ? "descending" : "ascending") : "none"}
    >
      <Button
        variant="ghost"
        size="sm"
        // The size's has-[>svg]:px-2.5 pads it (its icon is a child).
        className={cn("-mx-2", active && "text-foreground")}
        onClick={() => onSort(column)}
        aria-label={t.dialogs.sortBy(label) + state}
      >
        {label}
        <Icon aria-hidden className={cn("size-3.5", !active && "opacity-50")} />
      </Button>
    </TableHead>
  );
}

export function DialogsBlock({ className }: { className?: string }) {
  const { t, format } = useI18n();
  const { key, query } = useStatsWindow();
  const [sorting, setSorting] = useState<Sorting>({ sort: "started", order: "desc" });
  const [page, setPage] = useState(1);
  const [openDialog, setOpenDialog] = useState<number | null>(null);
  const [windowKey, setWindowKey] = useState(key);
  // Once opened, the sheet stays mounted: it slides away when closed.
  const [sheetWanted, setSheetWanted] = useState(false);
  if (openDialog !== null && !sheetWanted) setSheetWanted(true);

  // A new period starts again from its first page.
  if (windowKey !== key) {
    setWindowKey(key);
    setPage(1);
  }

  const dialogs = useApiQuery<StatsDialogsPage>(
    key && `dialogs?${key}&sort=${sorting.sort}&order=${sorting.order}&page=${page}`,
    (signal) =>
      unwrap(
        api.GET("/api/v1/stats/dialogs", {
          params: { query: { ...query, ...sorting, page, per_page: PER_PAGE } },
          signal,
        }),
      ),
  );
  const data = dialogs.data;
  const pages = data ? Math.max(1, Math.ceil(data.total / data.per_page)) : 1;

  function sortBy(column: SortKey) {
    setSorting((current) =>
      current.sort === column
        ? { sort: column, order: current.order === "desc" ? "asc" : "desc" }
        : { sort: column, order: "desc" },
    );
    setPage(1);
  }

  function who(dialog: DialogRow): string {
    if (dialog.user) return displayName(dialog.user);
    if (dialog.account) return t.dialogs.consoleAccount(dialog.account);
    return t.dialogs.unknownUser;
  }

  return (
    <Card className={className} aria-busy={dialogs.loading}>
      <CardHeader>
        <CardTitle>{t.dialogs.title}</CardTitle>
        <CardDescription>
          {data ? t.dialogs.description(format.count(data.total)) : "\u00a0"}
        </CardDescription>
        {query && (
          <CardAction>
            <CsvLink
              href={`/api/v1/stats/dialogs?${statsSearch({ ...query, ...sorting, format: "csv" })}`}
              what={t.dialogs.csvWhat}
            />
          </CardAction>
        )}
      </CardHeader>
      <CardContent className="grid grid-cols-1 gap-3">
        {dialogs.error ? (
          <BlockError error={dialogs.error} onRetry={dialogs.retry} />
        ) : !data ? (
          <BlockSkeleton rows={PER_PAGE} />
        ) : data.total === 0 ? (
          <BlockEmpty />
        ) : (
          <>
            <Table className={cn("transition-opacity", dialogs.loading && "opacity-60")}>
              <TableHeader>
                <TableRow>
                  <TableHead>{t.dialogs.user}</TableHead>
                  <TableHead>{t.dialogs.role}</TableHead>
                  <SortableHead
                    column="started"
                    label={t.dialogs.started}
                    sorting={sorting}
                    onSort={sortBy}
                  />
                  <SortableHead
                    column="latest"
                    label={t.dialogs.latest}
                    sorting={sorting}
                    onSort={sortBy}
                  />
                  <SortableHead
                    column="messages"
                    label={t.dialogs.messages}
                    sorting={sorting}
                    onSort={sortBy}
                    align="right"
                  />
                </TableRow>
              </TableHeader>
              <TableBody>
                {data.dialogs.map((dialog) => (
                  <TableRow
                    key={dialog.id}
                    className="cursor-pointer"
                    onClick={() => setOpenDialog(dialog.id)}
                  >
                    <TableCell className="max-w-52">
                      <button
                        type="button"
                        className="block max-w-full truncate rounded-sm text-left font-medium underline-offset-4 outline-none hover:underline focus-visible:ring-[3px] focus-visible:ring-ring/50"
                        onClick={(event) => {
                          event.stopPropagation();
                          setOpenDialog(dialog.id);
                        }}
                        aria-label={`${t.dialogs.open(dialog.id)}: ${who(dialog)}`}
                        aria-haspopup="dialog"
                      >
                        {who(dialog)}
                      </button>
                      <span className="text-xs text-muted-foreground">
                        #{dialog.id} · {t.channels[dialog.channel] ?? dialog.channel}
                      </span>
                    </TableCell>
                    <TableCell>
                      <Badge variant="secondary">
                        {dialog.mode === "insights" ? t.dialogs.insightsMode : dialog.role}
                      </Badge>
                    </TableCell>
                    <TableCell className="text-muted-foreground">
                      <time dateTime={dialog.started_at} title={format.dateTime(dialog.started_at)}>
                        {format.hour(dialog.started_at)}
                      </time>
                    </TableCell>
                    <TableCell className="max-w-80">
                      {dialog.latest_message ? (
                        <>
                          {dialog.latest_message.preview ? (
                            <div className="truncate" title={dialog.latest_message.preview}>
                              {dialog.latest_message.preview}
                            </div>
                          ) : (
                            <div className="text-muted-foreground italic">
                              {t.transcript.status[messageOutcome(dialog.latest_message)] ??
                                messageOutcome(dialog.latest_message)}
                            </div>
                          )}
                          <div className="text-xs text-muted-foreground">
                            <time
                              dateTime={dialog.latest_message.created_at}
                              title={format.dateTime(dialog.latest_message.created_at)}
                            >
                              {format.hour(dialog.latest_message.created_at)}
                            </time>
                          </div>
                        </>
                      ) : (
                        <span className="text-muted-foreground">—</span>
                      )}
                    </TableCell>
                    <TableCell className="tabular text-right">
                      {format.count(dialog.message_count)}
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
            <nav
              className="flex items-center justify-end gap-2 text-sm"
              aria-label={t.dialogs.title}
            >
              <span className="mr-auto text-muted-foreground" aria-live="polite">
                {t.dialogs.page(page, pages)}
              </span>
              <Button
                variant="outline"
                size="icon-sm"
                onClick={() => setPage((current) => Math.max(1, current - 1))}
                disabled={page <= 1}
                aria-label={t.dialogs.previousPage}
              >
                <ChevronLeftIcon aria-hidden />
              </Button>
              <Button
                variant="outline"
                size="icon-sm"
                onClick={() => setPage((current) => Math.min(pages, current + 1))}
                disabled={page >= pages}
                aria-label={t.dialogs.nextPage}
              >
                <ChevronRightIcon aria-hidden />
              </Button>
            </nav>
          </>
        )}
      </CardContent>
      {sheetWanted && <TranscriptSheet dialogId={openDialog} onClose={() => setOpenDialog(null)} />}
    </Card>
  );
}
