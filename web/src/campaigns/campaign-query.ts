/**
 * The campaign detail query (key and fetcher) shared by the builder page and the app's start-up
 * (App.tsx starts loading a campaign opened by URL while the session is still being checked).
 * Kept free of the builder's imports so it stays in the first chunk without pulling the builder in.
 */
import { api } from '../api';

export const campaignKey = (campaignId: string) => ['campaign', campaignId] as const;

export const campaignQuery = (campaignId: string) => ({ queryKey: campaignKey(campaignId), queryFn: () => api.campaigns.get(campaignId), staleTime: Infinity });
