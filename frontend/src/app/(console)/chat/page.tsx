import { ConstructionIcon } from "lucide-react";
import type { Metadata } from "next";
import { getDictionary } from "@/i18n/server";

export async function generateMetadata(): Promise<Metadata> {
  const { t } = await getDictionary();
  return { title: t.chat.title };
}

/** A placeholder, plainly: the chat comes with the console's next part. */
export default async function ChatPage() {
  const { t } = await getDictionary();
  return (
    <div className="grid gap-6">
      <h1 className="text-2xl font-semibold tracking-tight">{t.chat.title}</h1>
      <div className="flex max-w-2xl items-start gap-3 rounded-xl border border-dashed p-6">
        <ConstructionIcon className="mt-0.5 size-5 shrink-0 text-muted-foreground" aria-hidden />
        <div className="grid gap-1">
          <p className="font-medium">{t.chat.notBuilt}</p>
          <p className="text-sm text-muted-foreground">{t.chat.notBuiltBody}</p>
        </div>
      </div>
    </div>
  );
}
