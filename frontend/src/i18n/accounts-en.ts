/**
 * The Accounts screen's texts, English: kept apart from en.ts so that only that screen's bundle
 * carries them. Russian: accounts-ru.ts.
 */
export const accountsEn = {
  title: "Accounts",
  description:
    "Who can sign in to the console. Admins manage accounts; members see the dashboard and chat.",
  newAccount: "New account",
  listCaption: "Console accounts, by name",
  columns: {
    username: "Name",
    role: "Role",
    status: "Status",
    created: "Created",
    lastSignIn: "Last sign-in",
    actions: "Actions",
  },
  admin: "Admin",
  member: "Member",
  active: "Active",
  disabled: "Disabled",
  you: "you",
  never: "never",
  actionsFor: (username: string) => `Actions for ${username}`,
  resetPassword: "Reset password",
  disable: "Disable",
  enable: "Enable",
  create: {
    title: "New account",
    description: "The account can sign in at once with this password; ask them to change it.",
    username: "Name",
    password: "Password",
    isAdmin: "Admin (can manage accounts)",
    submit: "Create account",
    submitting: "Creating…",
    taken: "That name is taken.",
    created: (username: string) => `Account ${username} created.`,
  },
  reset: {
    title: (username: string) => `Reset the password of ${username}`,
    description: "Every session of the account ends; it signs in with the new password.",
    password: "New password",
    submit: "Reset password",
    submitting: "Resetting…",
    done: (username: string) => `The password of ${username} was reset.`,
  },
  disableConfirm: {
    title: (username: string) => `Disable ${username}?`,
    description:
      "The account cannot sign in any more and its sessions end now. You can enable it again later.",
    submit: "Disable account",
    submitting: "Disabling…",
    done: (username: string) => `${username} is disabled.`,
  },
  enabled: (username: string) => `${username} is enabled again.`,
  cancel: "Cancel",
};

export type AccountsDictionary = typeof accountsEn;
