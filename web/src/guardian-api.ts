/**
 * The Guardian notifications client: channels, test sends, the delivery log and the in-app
 * notification centre. Shapes come from the server's leaf schema modules (src/guardian/*.schemas.ts).
 */
import type { Static } from '@sinclair/typebox';
import type { Channel, ChannelList, CreateChannelBody, CreatedChannel, TestSendResult, UpdateChannelBody } from '@server/guardian/channels.schemas.js';
import type { Attempt, Delivery, DeliveryDetail, DeliveryPage, DeliveryStatus, MarkedRead, Notification, NotificationList, UnreadCount } from '@server/guardian/deliveries.schemas.js';
import { query, request } from './api';

export type GuardianChannel = Static<typeof Channel>;
export type NewChannel = Static<typeof CreateChannelBody>;
export type GuardianDelivery = Static<typeof Delivery>;
export type DeliveryAttempt = Static<typeof Attempt>;
export type GuardianNotification = Static<typeof Notification>;
export type { DeliveryStatus };

export const DELIVERY_STATUS_OPTIONS: DeliveryStatus[] = ['pending', 'sending', 'sent', 'retrying', 'failed'];

const id = (value: string): string => encodeURIComponent(value);

export const guardianApi = {
  channels: {
    list: () => request<Static<typeof ChannelList>>('GET', '/guardian/channels'),
    create: (input: NewChannel) => request<Static<typeof CreatedChannel>>('POST', '/guardian/channels', input),
    update: (channelId: string, input: Static<typeof UpdateChannelBody>) => request<GuardianChannel>('PATCH', `/guardian/channels/${id(channelId)}`, input),
    remove: (channelId: string) => request<void>('DELETE', `/guardian/channels/${id(channelId)}`),
    test: (channelId: string) => request<Static<typeof TestSendResult>>('POST', `/guardian/channels/${id(channelId)}/test`),
  },
  deliveries: {
    list: (filter: { channelId?: string; status?: string; alertId?: string; from?: string; to?: string; cursor?: string; limit?: number }) =>
      request<Static<typeof DeliveryPage>>('GET', `/guardian/deliveries${query(filter)}`),
    get: (deliveryId: string) => request<Static<typeof DeliveryDetail>>('GET', `/guardian/deliveries/${id(deliveryId)}`),
  },
  notifications: {
    list: () => request<Static<typeof NotificationList>>('GET', '/guardian/notifications?limit=30'),
    unreadCount: () => request<Static<typeof UnreadCount>>('GET', '/guardian/notifications/unread-count'),
    markRead: (notificationId: string) => request<Static<typeof MarkedRead>>('POST', `/guardian/notifications/${id(notificationId)}/read`),
    markAllRead: () => request<Static<typeof MarkedRead>>('POST', '/guardian/notifications/read-all'),
  },
};
