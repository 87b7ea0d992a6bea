"use client";

import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent } from "@/components/ui/card";
import { BlockError, BlockSkeleton } from "@/components/ui/block-states";
import {
  Table,
  TableBody,
  TableCaption,
  TableCell,
  TableHead,
  TableHeader,
  TableRow,
} from "@/components/ui/table";
import { useAccountsTexts } from "@/i18n/accounts";
import { useI18n } from "@/i18n/provider";
import { api, unwrap } from "@/lib/api/client";
import { useApiQuery } from "@/lib/use-api-query";
import { AccountActions } from "./account-actions";
import { NewAccountDialog } from "./new-account-dialog";

/** The admin's list of console accounts, with creating, disabling and password resets. */
export function AccountsScreen({ selfId }: { selfId: number }) {
  const { format } = useI18n();
  const texts = useAccountsTexts();
  const query = useApiQuery("accounts", (signal) =>
    unwrap(api.GET("/api/v1/accounts", { signal })),
  );
  const [notice, setNotice] = useState("");
  // After a change the list is read again: webapi's word, not a copy kept here (the rows
  // stay on screen meanwhile, keyed by id, so neither the scroll nor the focus is lost).
  const accounts = query.data?.accounts ?? [];

  return (
    <div className="grid grid-cols-1 gap-4">
      <div className="flex flex-col gap-4 sm:flex-row sm:items-start sm:justify-between">
        <div className="grid gap-1">
          <h1 className="text-2xl font-semibold tracking-tight">{texts.title}</h1>
          <p className="max-w-prose text-sm text-muted-foreground">{texts.description}</p>
        </div>
        <NewAccountDialog
          onCreated={(account) => {
            query.retry();
            setNotice(texts.create.created(account.username));
          }}
        />
      </div>
      {/* Always in the page, so that screen readers hear each new notice; takes room only
          when it says something. */}
      <p role="status" className={notice ? "text-sm" : "sr-only"}>
        {notice}
      </p>
      <Card>
        <CardContent>
          {query.error ? (
            <BlockError error={query.error} onRetry={query.retry} />
          ) : query.data === undefined ? (
            <BlockSkeleton rows={4} />
          ) : (
            <Table>
              <TableCaption srOnly>{texts.listCaption}</TableCaption>
              <TableHeader>
                <TableRow>
                  <TableHead scope="col">{texts.columns.username}</TableHead>
                  <TableHead scope="col">{texts.columns.role}</TableHead>
                  <TableHead scope="col">{texts.columns.status}</TableHead>
                  <TableHead scope="col" className="max-md:hidden">
                    {texts.columns.created}
                  </TableHead>
                  <TableHead scope="col" className="max-md:hidden">
                    {texts.columns.lastSignIn}
                  </TableHead>
                  <TableHead scope="col" align="right">
                    <span className="sr-only">{texts.columns.actions}</span>
                  </TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {accounts.map((account) => (
                  <TableRow key={account.id} data-testid="account-row">
                    <TableCell className="max-w-48 truncate font-medium" title={account.username}>
                      {account.username}
                      {account.id === selfId && (
                        <span className="ml-1 text-muted-foreground">({texts.you})</span>
                      )}
                    </TableCell>
                    <TableCell>{account.is_admin ? texts.admin : texts.member}</TableCell>
                    <TableCell>
                      {account.disabled ? (
                        <Badge variant="destructive">{texts.disabled}</Badge>
                      ) : (
                        <Badge variant="secondary">{texts.active}</Badge>
                      )}
                    </TableCell>
                    <TableCell className="text-muted-foreground max-md:hidden">
                      {format.dateTime(account.created_at)}
                    </TableCell>
                    <TableCell className="text-muted-foreground max-md:hidden">
                      {account.last_login_at ? format.dateTime(account.last_login_at) : texts.never}
                    </TableCell>
                    <TableCell className="text-right">
                      <AccountActions
                        account={account}
                        isSelf={account.id === selfId}
                        onChanged={query.retry}
                        onNotice={setNotice}
                      />
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          )}
        </CardContent>
      </Card>
    </div>
  );
}
