/**
 * The Guardian section's frame: its title and tabs. The tab list is one array so a new tab
 * (channels, delivery log) is one line.
 */
import type { ReactNode } from 'react';
import { Link } from '../../router';
import { PageHeader } from '../../ui';

export const GUARDIAN_TABS: Array<{ key: string; label: string; to: string }> = [
  { key: 'health', label: 'Health', to: '/guardian' },
  { key: 'alerts', label: 'Alerts', to: '/guardian/alerts' },
  { key: 'rules', label: 'Rules', to: '/guardian/rules' },
];

export function GuardianLayout({ active, actions, children }: { active: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <>
      <PageHeader title="Guardian">{actions}</PageHeader>
      <nav className="tabs" aria-label="Guardian sections">
        {GUARDIAN_TABS.map((tab) => (
          <Link key={tab.key} to={tab.to} className={`tab${tab.key === active ? ' active' : ''}`} aria-current={tab.key === active ? 'page' : undefined}>
            {tab.label}
          </Link>
        ))}
      </nav>
      {children}
    </>
  );
}
