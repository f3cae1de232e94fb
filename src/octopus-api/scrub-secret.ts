/** Remove a secret (the API key) from text that is about to leave: server messages may echo headers. */
export function scrubSecret(text: string, secret: string | null | undefined): string {
  return secret && secret.length >= 4 ? text.split(secret).join('API-***') : text;
}
