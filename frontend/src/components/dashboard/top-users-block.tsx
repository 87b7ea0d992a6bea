"use client";

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
import type { TopUser } from "@/lib/api/types";
import { displayName, handle } from "@/lib/people";
import { useApiQuery } from "@/lib/use-api-query";
import { BlockError, BlockSkeleton } from "@/components/ui/block-states";
import { BlockEmpty, CsvLink } from "./block-states";
import { statsSearch, useStatsWindow } from "./stats-context";

const LIMIT = 10;

export function TopUsersBlock({ className }: { className?: string }) {
  const { t, format } = useI18n();
  const { key, query } = useStatsWindow();
  const topUsers = useApiQuery<TopUser[]>(key && `top-users?${key}`, (signal) =>
    unwrap(
      api.GET("/api/v1/stats/top-users", {
        params: { query: { ...query, limit: LIMIT } },
        signal,
      }),
    ).then((data) => data.users),
  );
  const users = topUsers.data;

  return (
    <Card className={className} aria-busy={topUsers.loading}>
      <CardHeader>
        <CardTitle>{t.topUsers.title}</CardTitle>
        <CardDescription>{t.topUsers.description}</CardDescription>
        {query && (
          <CardAction>
            <CsvLink
              href={`/api/v1/stats/top-users?${statsSearch({ ...query, limit: LIMIT, format: "csv" })}`}
              what={t.topUsers.csvWhat}
            />
          </CardAction>
        )}
      </CardHeader>
      <CardContent>
        {topUsers.error ? (
          <BlockError error={topUsers.error} onRetry={topUsers.retry} />
        ) : !users ? (
          <BlockSkeleton rows={LIMIT} />
        ) : users.length === 0 ? (
          <BlockEmpty />
        ) : (
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>{t.topUsers.user}</TableHead>
                <TableHead align="right">{t.topUsers.messages}</TableHead>
                <TableHead align="right">{t.topUsers.dialogs}</TableHead>
                <TableHead align="right">{t.topUsers.lastMessage}</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {users.map((user) => (
                <TableRow key={user.user_id}>
                  <TableCell className="max-w-44">
                    <div className="truncate font-medium">{displayName(user)}</div>
                    <div className="truncate text-xs text-muted-foreground">{handle(user)}</div>
                  </TableCell>
                  <TableCell className="tabular text-right">
                    {format.count(user.messages)}
                  </TableCell>
                  <TableCell className="tabular text-right">{format.count(user.dialogs)}</TableCell>
                  <TableCell className="text-right text-muted-foreground">
                    <time
                      dateTime={user.last_message_at ?? undefined}
                      title={format.dateTime(user.last_message_at)}
                    >
                      {format.date(user.last_message_at)}
                    </time>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </CardContent>
    </Card>
  );
}
