import type { AccountsDictionary } from "./accounts-en";

/** The Accounts screen's texts, Russian (accounts-en.ts is the catalogue it follows). */
export const accountsRu: AccountsDictionary = {
  title: "Учётные записи",
  description:
    "Кто может входить в консоль. Администраторы управляют учётными записями; остальные видят дашборд и чат.",
  newAccount: "Новая учётная запись",
  listCaption: "Учётные записи консоли, по имени",
  columns: {
    username: "Имя",
    role: "Роль",
    status: "Состояние",
    created: "Создана",
    lastSignIn: "Последний вход",
    actions: "Действия",
  },
  admin: "Администратор",
  member: "Участник",
  active: "Активна",
  disabled: "Отключена",
  you: "вы",
  never: "не входил",
  actionsFor: (username) => `Действия для ${username}`,
  resetPassword: "Сбросить пароль",
  disable: "Отключить",
  enable: "Включить",
  create: {
    title: "Новая учётная запись",
    description: "С этим паролем можно войти сразу; попросите владельца его сменить.",
    username: "Имя",
    password: "Пароль",
    isAdmin: "Администратор (управляет учётными записями)",
    submit: "Создать",
    submitting: "Создаём…",
    taken: "Это имя уже занято.",
    created: (username) => `Учётная запись ${username} создана.`,
  },
  reset: {
    title: (username) => `Сброс пароля ${username}`,
    description: "Все сеансы учётной записи завершатся; войти можно будет с новым паролем.",
    password: "Новый пароль",
    submit: "Сбросить пароль",
    submitting: "Сбрасываем…",
    done: (username) => `Пароль ${username} сброшен.`,
  },
  disableConfirm: {
    title: (username) => `Отключить ${username}?`,
    description:
      "Войти будет нельзя, открытые сеансы завершатся сейчас же. Позже учётную запись можно включить снова.",
    submit: "Отключить",
    submitting: "Отключаем…",
    done: (username) => `Учётная запись ${username} отключена.`,
  },
  enabled: (username) => `Учётная запись ${username} снова включена.`,
  cancel: "Отмена",
};
