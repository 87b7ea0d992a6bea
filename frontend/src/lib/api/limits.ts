/**
 * webapi's rules for console accounts (webapi/domain/accounts.py), so that forms can say them
 * before a round trip; webapi checks them anyway and its sentence is shown if they ever differ.
 */
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;
export const MAX_USERNAME_LENGTH = 64;
