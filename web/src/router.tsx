/**
 * A minimal client-side router over the History API: the app has a handful of flat routes, which
 * does not justify a routing library in the bundle. Pages with unsaved work register a leave
 * guard: links, navigate(), the back button and closing the tab then ask before leaving.
 */
import { useEffect, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

const NAVIGATE_EVENT = 'uh:navigate';

/** The questions of the leave guards now registered (one per page with unsaved work). */
const guards = new Set<{ message: string }>();
let shownLocation = typeof window === 'undefined' ? '' : window.location.pathname + window.location.search;

/** Asks each guard; false when the person chose to stay. */
function mayLeave(): boolean {
  for (const guard of guards) if (!window.confirm(guard.message)) return false;
  return true;
}

if (typeof window !== 'undefined') {
  // Registered before any subscriber: a refused Back puts the page's address back and stops here.
  window.addEventListener('popstate', (event) => {
    if (guards.size > 0 && !mayLeave()) {
      window.history.pushState(null, '', shownLocation);
      event.stopImmediatePropagation();
      return;
    }
    shownLocation = window.location.pathname + window.location.search;
  });
}

/**
 * While `message` is set, leaving the page asks it first: in-app navigation by window.confirm,
 * reloading or closing the tab by the browser's own prompt (beforeunload).
 */
export function useLeaveGuard(message: string | null): void {
  useEffect(() => {
    if (message === null) return;
    const guard = { message };
    guards.add(guard);
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => {
      guards.delete(guard);
      window.removeEventListener('beforeunload', warn);
    };
  }, [message]);
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

const currentLocation = (): string => window.location.pathname + window.location.search;

export function navigate(to: string, options: { replace?: boolean; force?: boolean } = {}): void {
  if (to === currentLocation()) return;
  if (!options.force && guards.size > 0 && !mayLeave()) return;
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  shownLocation = to;
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
  window.scrollTo(0, 0);
}

/** The current path and query string; re-renders on navigation. */
export function useLocation(): { pathname: string; search: URLSearchParams; href: string } {
  const href = useSyncExternalStore(subscribe, currentLocation);
  const url = new URL(href, window.location.origin);
  return { pathname: url.pathname, search: url.searchParams, href };
}

/** Matches `/contacts/:id` style patterns; returns the decoded parameters or null. */
export function matchPath(pattern: string, pathname: string): Record<string, string> | null {
  const patternParts = pattern.split('/').filter(Boolean);
  const pathParts = pathname.split('/').filter(Boolean);
  if (patternParts.length !== pathParts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < patternParts.length; i += 1) {
    const expected = patternParts[i]!;
    const actual = pathParts[i]!;
    if (expected.startsWith(':')) params[expected.slice(1)] = decodeURIComponent(actual);
    else if (expected !== actual) return null;
  }
  return params;
}

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & { to: string; children: ReactNode };

export function Link({ to, onClick, children, ...rest }: LinkProps) {
  const handleClick = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={handleClick} {...rest}>
      {children}
    </a>
  );
}

/** The `?next=` target after log-in: only a path inside the app, never another origin. */
export function safeNextPath(next: string | null, fallback: string): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : fallback;
}
