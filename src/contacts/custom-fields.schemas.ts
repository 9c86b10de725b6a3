/**
 * Request and response shapes of the custom-field routes (custom-fields.routes.ts): a declared
 * field (key, label, type) and the bodies that declare or change one.
 * Importable by the web app: this module imports only TypeBox and other schema modules.
 */
import { Type } from '@sinclair/typebox';
import { LiteralUnion } from '../http/schemas.js';

/** Declared types of custom fields, persisted strings: never rename. */
export const CUSTOM_FIELD_TYPES = ['text', 'number', 'boolean', 'date'] as const;
export type CustomFieldType = (typeof CUSTOM_FIELD_TYPES)[number];
export const FieldType = LiteralUnion(CUSTOM_FIELD_TYPES);

export const CustomFieldDefinition = Type.Object({ key: Type.String(), label: Type.String(), type: FieldType, createdAt: Type.String(), updatedAt: Type.String() });
export const CustomFieldList = Type.Object({ fields: Type.Array(CustomFieldDefinition) });
/** A declaration created or changed, with how many contacts' stored values were converted. */
export const CustomFieldChanged = Type.Intersect([CustomFieldDefinition, Type.Object({ converted: Type.Integer({ description: 'Contacts whose stored value was converted to the type' }) })]);
export const CreateCustomFieldBody = Type.Object(
  { key: Type.String({ minLength: 1, maxLength: 64 }), label: Type.Optional(Type.String({ maxLength: 100 })), type: FieldType },
  { additionalProperties: false },
);
export const UpdateCustomFieldBody = Type.Object({ label: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })), type: Type.Optional(FieldType) }, { additionalProperties: false, minProperties: 1 });
export const KeyParams = Type.Object({ key: Type.String({ minLength: 1, maxLength: 64 }) });
