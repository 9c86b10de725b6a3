/** A campaign email node's personalization option, as the outbox stores it (off: nothing). */
export function aiModeOf(option: 'off' | 'offline' | 'provider' | undefined): { aiMode?: 'offline' | 'provider' } {
  return option === 'offline' || option === 'provider' ? { aiMode: option } : {};
}
