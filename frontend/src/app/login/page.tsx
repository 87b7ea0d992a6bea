import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { LoginForm } from "@/components/auth/login-form";
import { Card, CardContent, CardDescription, CardHeader } from "@/components/ui/card";
import { getDictionary } from "@/i18n/server";
import { getSession } from "@/lib/api/server";
import { safeNextPath } from "@/lib/next-path";

export async function generateMetadata(): Promise<Metadata> {
  const { t } = await getDictionary();
  return { title: t.login.title };
}

export default async function LoginPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const next = safeNextPath((await searchParams).next);
  // Signed in already: on to where they were going. (webapi unreachable: the form says so.)
  if ((await getSession()).status === "signed-in") redirect(next);
  const { t } = await getDictionary();
  return (
    <main className="grid min-h-dvh place-items-center px-4 py-12">
      <Card className="w-full max-w-sm">
        <CardHeader>
          <div
            aria-hidden
            className="mb-2 grid size-9 place-items-center rounded-lg bg-primary text-sm font-bold text-primary-foreground"
          >
            AI
          </div>
          <h1 className="text-xl leading-none font-semibold">{t.login.title}</h1>
          <CardDescription>
            {t.common.appName} · {t.login.description}
          </CardDescription>
        </CardHeader>
        <CardContent>
          <LoginForm next={next} />
        </CardContent>
      </Card>
    </main>
  );
}
