import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { AccountsScreen } from "@/components/accounts/accounts-screen";
import { getDictionary } from "@/i18n/server";
import { getSession } from "@/lib/api/server";

export async function generateMetadata(): Promise<Metadata> {
  const { t } = await getDictionary();
  return { title: t.nav.accounts };
}

/** Console accounts, for admins; anyone else finds nothing here (webapi refuses them too). */
export default async function AccountsPage() {
  const session = await getSession();
  // The console's layout has sent the signed-out and the unreachable elsewhere already.
  if (session.status !== "signed-in" || !session.account.is_admin) notFound();
  return <AccountsScreen selfId={session.account.id} />;
}
