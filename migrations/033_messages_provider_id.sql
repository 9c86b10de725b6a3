-- Provider webhooks find the message they are about by the provider's message id.
CREATE INDEX messages_provider_message_idx ON messages (workspace_id, provider_message_id) WHERE provider_message_id IS NOT NULL;
