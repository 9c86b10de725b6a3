/**
 * The operations area under a campaign's canvas, in tabs: the contacts in it (journeys, bulk
 * exit), simulation, live counts per step, its broadcasts, and the campaign settings (goal,
 * re-entry, priority, frequency cap). Journeys and simulations are handed to the page as a
 * CanvasOverlay through `onOverlay`.
 */
import { useState, type KeyboardEvent } from 'react';
import type { CampaignSettingsValue } from '@server/campaigns/definition.schemas.js';
import type { Campaign, CampaignDefinition } from '../../api';
import { SettingsForm } from '../forms/SettingsForm';
import type { CanvasOverlay } from '../overlay';
import { BroadcastsPanel } from './BroadcastsPanel';
import { CountsTable } from './CountsTable';
import { EnrollmentsPanel } from './EnrollmentsPanel';
import { SimulatePanel } from './SimulatePanel';

type Tab = 'contacts' | 'simulate' | 'counts' | 'broadcasts' | 'settings';
const TABS: Array<[Tab, string]> = [
  ['contacts', 'Contacts & journeys'],
  ['simulate', 'Simulate'],
  ['counts', 'Counts'],
  ['broadcasts', 'Broadcasts'],
  ['settings', 'Settings'],
];

export interface CampaignOpsProps {
  campaign: Campaign;
  /** The definition as drawn now, saved or not: names of steps, and what the simulation runs. */
  definition: CampaignDefinition;
  editable: boolean;
  onSettingsChange: (settings: CampaignSettingsValue) => void;
  onOverlay: (overlay: CanvasOverlay | null) => void;
  onChanged: () => void;
}

export function CampaignOps({ campaign, definition, editable, onSettingsChange, onOverlay, onChanged }: CampaignOpsProps) {
  const [tab, setTab] = useState<Tab>(campaign.status === 'draft' ? 'settings' : 'contacts');
  const choose = (next: Tab) => {
    if (next !== tab) onOverlay(null);
    setTab(next);
  };
  const onKey = (event: KeyboardEvent<HTMLDivElement>) => {
    const index = TABS.findIndex(([t]) => t === tab);
    const delta = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (delta === 0) return;
    event.preventDefault();
    const next = TABS[(index + delta + TABS.length) % TABS.length]![0];
    choose(next);
    document.getElementById(`ops-tab-${next}`)?.focus();
  };
  return (
    <section className="panel stack campaign-ops" aria-label="Campaign operations">
      <div className="tabs" role="tablist" aria-label="Campaign operations" onKeyDown={onKey}>
        {TABS.map(([value, label]) => (
          <button
            key={value}
            id={`ops-tab-${value}`}
            type="button"
            role="tab"
            aria-selected={tab === value}
            aria-controls={`ops-panel-${value}`}
            tabIndex={tab === value ? 0 : -1}
            className={`tab${tab === value ? ' active' : ''}`}
            onClick={() => choose(value)}
          >
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`ops-panel-${tab}`} aria-labelledby={`ops-tab-${tab}`}>
        {tab === 'contacts' ? <EnrollmentsPanel campaignId={campaign.id} definition={definition} editable={editable} onOverlay={onOverlay} onChanged={onChanged} /> : null}
        {tab === 'simulate' ? <SimulatePanel campaignId={campaign.id} definition={definition} onOverlay={onOverlay} /> : null}
        {tab === 'counts' ? <CountsTable campaignId={campaign.id} definition={definition} /> : null}
        {tab === 'broadcasts' ? <BroadcastsPanel campaignId={campaign.id} editable={editable} /> : null}
        {tab === 'settings' ? (
          editable ? (
            <>
              <SettingsForm settings={definition.settings} onChange={onSettingsChange} />
              <p className="muted small">Settings are saved with the draft and take effect when published.</p>
            </>
          ) : (
            <p className="muted">This campaign cannot be edited.</p>
          )
        ) : null}
      </div>
    </section>
  );
}
