import type { DialogUser } from "@/lib/api/types";

/** How a Telegram user is shown: their name, else @username, else their Telegram id. */
export function displayName(user: Omit<DialogUser, "user_id">): string {
  const name = [user.first_name, user.last_name].filter(Boolean).join(" ").trim();
  if (name) return name;
  if (user.username) return `@${user.username}`;
  return String(user.telegram_id);
}

/** What is shown under the name: @username and the Telegram id. */
export function handle(user: Omit<DialogUser, "user_id">): string {
  const name = [user.first_name, user.last_name].filter(Boolean).join(" ").trim();
  const parts = [name && user.username ? `@${user.username}` : null, `id ${user.telegram_id}`];
  return parts.filter(Boolean).join(" · ");
}
