/**
 * The way back from another page (the template editor) to the campaign it was opened from: a link
 * shown when the URL carries `?returnTo=/campaigns/…`, with `?step=<node id>` naming the step to
 * select again there.
 */
import { Link, useLocation } from '../../router';

/** The return path when it is a campaign page of this app (optionally naming a step), else null. */
export function campaignReturnPath(search: URLSearchParams): string | null {
  const to = search.get('returnTo');
  return to && /^\/campaigns\/[A-Za-z0-9-]+(\?step=[A-Za-z0-9._%-]+)?$/.test(to) ? to : null;
}

export function ReturnToCampaign() {
  const { search } = useLocation();
  const to = campaignReturnPath(search);
  if (!to) return null;
  return (
    <p className="crumbs">
      <Link to={to}>← Back to the campaign</Link>
    </p>
  );
}
