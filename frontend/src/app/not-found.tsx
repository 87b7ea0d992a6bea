import Link from "next/link";
import { Button } from "@/components/ui/button";
import { getDictionary } from "@/i18n/server";

export default async function NotFound() {
  const { t } = await getDictionary();
  return (
    <main className="mx-auto grid min-h-dvh max-w-lg content-center justify-items-start gap-3 px-4">
      <p className="font-mono text-sm text-muted-foreground">404</p>
      <h1 className="text-xl font-semibold">{t.errors.notFound}</h1>
      <p className="text-sm text-muted-foreground">{t.errors.notFoundBody}</p>
      <Button asChild variant="outline">
        <Link href="/">{t.errors.backToDashboard}</Link>
      </Button>
    </main>
  );
}
