/**
 * Links between the Guardian notification pages (channels, delivery log). When the Guardian section
 * layout with its tab array exists, these pages go into its tabs and this strip goes away.
 */
import { Link } from '../../router';

const TABS = [
  { key: 'channels', to: '/guardian/channels', label: 'Channels' },
  { key: 'deliveries', to: '/guardian/deliveries', label: 'Delivery log' },
] as const;

export function GuardianNotifyTabs({ current }: { current: (typeof TABS)[number]['key'] }) {
  return (
    <nav aria-label="Guardian notifications" className="row">
      {TABS.map((tab) => (
        <Link key={tab.key} to={tab.to} className={`button ${tab.key === current ? 'primary' : 'ghost'}`} aria-current={tab.key === current ? 'page' : undefined}>
          {tab.label}
        </Link>
      ))}
    </nav>
  );
}
