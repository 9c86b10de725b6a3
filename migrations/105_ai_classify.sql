-- Issue 16: reply/sentiment classification by the workspace's model is a governed AI call like
-- the others, logged in ai_calls with operation 'classify'.
ALTER TABLE ai_calls DROP CONSTRAINT ai_calls_operation_check;
ALTER TABLE ai_calls ADD CONSTRAINT ai_calls_operation_check CHECK (operation IN ('personalize', 'subject_variants', 'classify', 'test_connection'));
