import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { avroToJsonSchema, JSON_SCHEMA_DIALECT } from './avro-to-json-schema.js';
import { createAvroType } from './create-avro-type.js';
import { loadSchemaCatalog } from './schema-catalog.js';

const catalog = loadSchemaCatalog();
const integerLong = { type: 'integer', minimum: -9007199254740990, maximum: 9007199254740990 };
const integerInt = { type: 'integer', minimum: -2147483648, maximum: 2147483647 };

describe('avroToJsonSchema', () => {
  it('translates payment.succeeded v2 field by field', () => {
    const schema = catalog.latest('payment.succeeded');
    expect(schema?.version).toBe(2);
    const { description, properties, ...rest } = schema?.jsonSchema ?? {};
    expect(description).toContain('Money was captured');
    expect(rest).toEqual({
      $schema: JSON_SCHEMA_DIALECT,
      title: 'payment.succeeded v2',
      type: 'object',
      required: [
        'paymentId',
        'customerId',
        'amountMinor',
        'currency',
        'method',
        'provider',
        'providerReference',
        'capturedAt',
      ],
      additionalProperties: false,
    });
    expect(properties).toEqual({
      paymentId: { type: 'string' },
      orderId: {
        type: ['string', 'null'],
        default: null,
        description: 'Null for payments not tied to an order.',
      },
      customerId: { type: 'string' },
      amountMinor: integerLong,
      currency: { type: 'string', description: 'ISO 4217 code in upper case.' },
      method: {
        title: 'PaymentMethod',
        type: 'string',
        enum: ['CARD', 'BANK_TRANSFER', 'WALLET', 'BUY_NOW_PAY_LATER'],
      },
      provider: { type: 'string', description: 'Payment service provider, e.g. stripe, adyen.' },
      providerReference: { type: 'string', description: "The provider's id for this charge." },
      capturedAt: { type: 'string', format: 'date-time' },
      feeMinor: {
        ...integerLong,
        type: ['integer', 'null'],
        default: null,
        description: "Since v2. The provider's fee in minor units of currency; null when not known yet.",
      },
      card: {
        title: 'CardDetails',
        type: ['object', 'null'],
        properties: {
          brand: { type: 'string', description: 'e.g. visa, mastercard.' },
          last4: { type: 'string' },
          expiryMonth: integerInt,
          expiryYear: integerInt,
        },
        required: ['brand', 'last4', 'expiryMonth', 'expiryYear'],
        additionalProperties: false,
        default: null,
        description: 'Since v2. Present when method is CARD.',
      },
    });
  });

  it('adds null to the symbols of a nullable enum', () => {
    expect(catalog.latest('order.created')?.jsonSchema.properties?.channel).toMatchObject({
      type: ['string', 'null'],
      enum: ['WEB', 'MOBILE_APP', 'POINT_OF_SALE', 'MARKETPLACE', null],
      default: null,
    });
  });

  it('turns maps into objects with typed values, keeping defaults', () => {
    expect(catalog.latest('account.created')?.jsonSchema.properties?.attributes).toMatchObject({
      type: 'object',
      additionalProperties: { type: 'string' },
      default: {},
    });
  });

  it('inlines a named type at every reference', () => {
    const properties = catalog.latest('account.plan_changed')?.jsonSchema.properties;
    expect(properties?.toPlan).toEqual(properties?.fromPlan);
    expect(properties?.toPlan?.enum).toEqual(['FREE', 'STARTER', 'PRO', 'ENTERPRISE']);
  });

  it('requires exactly the fields without a default, in every catalog schema', () => {
    for (const schema of catalog.all()) {
      const fields = (schema.avroSchema.fields ?? []) as { name: string; default?: unknown }[];
      const required = fields.filter((field) => !('default' in field)).map((field) => field.name);
      expect(schema.jsonSchema.required, `${schema.type} v${schema.version}`).toEqual(required);
    }
  });

  it('uses anyOf for a union of two non-null branches, and arrays of numbers', () => {
    const type = createAvroType({
      type: 'record',
      name: 'Mixed',
      fields: [
        { name: 'idOrCode', type: ['string', 'long'] },
        { name: 'ratios', type: { type: 'array', items: 'double' } },
      ],
    });
    expect(avroToJsonSchema(type).properties).toEqual({
      idOrCode: { anyOf: [{ type: 'string' }, integerLong] },
      ratios: { type: 'array', items: { type: 'number' } },
    });
  });

  it('refuses a recursive record rather than inlining forever', () => {
    const type = avro.Type.forSchema({
      type: 'record',
      name: 'Node',
      fields: [{ name: 'next', type: ['null', 'Node'], default: null }],
    });
    expect(() => avroToJsonSchema(type)).toThrow(/recursive record Node/);
  });
});
