import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type {
  HeaderObject,
  OpenAPIObject,
  OperationObject,
  PathItemObject,
  ReferenceObject,
  ResponseObject,
} from 'openapi3-ts/oas31';

/** One real HTTP answer, as a test received it. */
export interface ObservedAnswer {
  method: string;
  /** The request path, without the query string. */
  path: string;
  status: number;
  /** Header names lower-cased, as undici gives them. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: string;
}

export interface OpenApiValidator {
  /**
   * Every way the answer departs from the document: an undocumented path, method or status, a
   * content type the response does not list, a missing required header, a body its schema refuses.
   * Empty when the answer is documented.
   */
  check(answer: ObservedAnswer): string[];
  /** `METHOD /path/{template} STATUS` of every documented answer checked so far. */
  readonly seen: ReadonlySet<string>;
  /** `METHOD /path/{template}` of every operation in the document. */
  readonly operations: readonly string[];
}

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const documentKey = 'openapi.json';

/**
 * Checks real answers against an OpenAPI 3.1 document: the operation is found by path template
 * and method, the response by status, and the body is validated with Ajv (JSON Schema 2020-12,
 * the dialect of OpenAPI 3.1) against the schema at that place in the document, so `$ref`s
 * resolve exactly as the document wrote them. A path the document does not know must be the
 * documented 404, and a method a known path does not take the documented 405 (with `Allow` listing
 * exactly the document's methods for that path).
 */
export function createOpenApiValidator(document: OpenAPIObject): OpenApiValidator {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  // ajv-formats is CommonJS: under NodeNext its default import is the module, which carries `default`.
  addFormats.default(ajv);
  registerDocument(ajv, document);
  const compiled = new Map<string, ValidateFunction>();
  const seen = new Set<string>();
  const templates = Object.entries(document.paths ?? {}).map(([template, item]) => ({
    template,
    item: item as PathItemObject,
    pattern: new RegExp(`^${template.replace(/\{[^}/]+\}/g, '[^/]+').replaceAll('.', '\\.')}$`),
  }));

  function validatorAt(pointer: string): ValidateFunction {
    let validate = compiled.get(pointer);
    if (validate === undefined) {
      validate = ajv.compile({ $ref: `${documentKey}#${pointer}` });
      compiled.set(pointer, validate);
    }
    return validate;
  }

  function resolveResponse(
    response: ResponseObject | ReferenceObject,
    pointer: string,
  ): { response: ResponseObject; pointer: string } {
    if (!('$ref' in response)) return { response, pointer };
    const target = response.$ref.replace(/^#/, '');
    const resolved = target
      .split('/')
      .slice(1)
      .reduce<unknown>((node, part) => (node as Record<string, unknown>)[unescapePointer(part)], document);
    return resolveResponse(resolved as ResponseObject | ReferenceObject, target);
  }

  function checkResponse(
    answer: ObservedAnswer,
    response: ResponseObject | ReferenceObject,
    pointer: string,
    label: string,
  ): string[] {
    const errors: string[] = [];
    const resolved = resolveResponse(response, pointer);
    for (const [name, header] of Object.entries(resolved.response.headers ?? {})) {
      const value = headerValue(answer, name);
      const spec = header as HeaderObject;
      if (value === undefined) {
        if (spec.required) errors.push(`${label}: required header ${name} is missing`);
        continue;
      }
      const schemaPointer = `${resolved.pointer}/headers/${escapePointer(name)}/schema`;
      if (spec.schema !== undefined)
        errors.push(...schemaErrors(validatorAt(schemaPointer), value, `${label} header ${name}`));
    }
    const content = resolved.response.content;
    const contentType = headerValue(answer, 'content-type');
    if (content === undefined || Object.keys(content).length === 0) {
      if (answer.body !== '')
        errors.push(`${label}: documented without a body, got ${answer.body.length} bytes`);
      return errors;
    }
    const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase();
    if (mediaType === undefined || content[mediaType] === undefined) {
      errors.push(
        `${label}: content type ${contentType ?? '(none)'} is not one of ${Object.keys(content).join(', ')}`,
      );
      return errors;
    }
    if (content[mediaType].schema === undefined) return errors;
    let body: unknown = answer.body;
    if (/[/+]json$/.test(mediaType)) {
      try {
        body = JSON.parse(answer.body);
      } catch {
        errors.push(`${label}: the ${mediaType} body is not JSON`);
        return errors;
      }
    }
    const schemaPointer = `${resolved.pointer}/content/${escapePointer(mediaType)}/schema`;
    errors.push(...schemaErrors(validatorAt(schemaPointer), body, `${label} body`));
    return errors;
  }

  function check(answer: ObservedAnswer): string[] {
    const method = answer.method.toLowerCase();
    const found = templates.find((candidate) => candidate.pattern.test(answer.path));
    const label = `${answer.method} ${answer.path} ${answer.status}`;
    if (found === undefined) {
      if (answer.status !== 404) return [`${label}: no documented path matches ${answer.path}`];
      return checkResponse(answer, { $ref: '#/components/responses/NotFound' }, '', label);
    }
    const operation = found.item[method as (typeof methods)[number]] as OperationObject | undefined;
    if (operation === undefined) {
      if (answer.status !== 405) return [`${label}: ${found.template} documents no ${answer.method}`];
      const documented = methods
        .filter((name) => found.item[name] !== undefined)
        .map((name) => name.toUpperCase());
      const allow = headerValue(answer, 'allow');
      const errors = checkResponse(answer, { $ref: '#/components/responses/MethodNotAllowed' }, '', label);
      if (allow?.split(', ').sort().join(', ') !== documented.sort().join(', ')) {
        errors.push(`${label}: Allow is ${allow ?? '(none)'}, the document lists ${documented.join(', ')}`);
      }
      return errors;
    }
    const status = String(answer.status);
    const response = operation.responses?.[status] as ResponseObject | ReferenceObject | undefined;
    if (response === undefined) {
      return [`${label}: ${answer.method} ${found.template} documents no ${status} answer`];
    }
    const pointer = `/paths/${escapePointer(found.template)}/${method}/responses/${status}`;
    const errors = checkResponse(answer, response, pointer, label);
    if (errors.length === 0) seen.add(`${answer.method} ${found.template} ${status}`);
    return errors;
  }

  const operations = templates.flatMap(({ template, item }) =>
    methods.filter((name) => item[name] !== undefined).map((name) => `${name.toUpperCase()} ${template}`),
  );
  return { check, seen, operations };
}

/**
 * Registers the whole document with Ajv, so that each schema is compiled by its JSON pointer in it
 * and its `$ref`s resolve as written. Ajv compiles the document's root on the way: its top-level
 * members are declared as annotations, which keeps strict mode on for every real schema.
 */
export function registerDocument(ajv: Ajv2020, document: OpenAPIObject): void {
  ajv.addVocabulary(Object.keys(document).filter((member) => !ajv.getKeyword(member)));
  ajv.addSchema(document as object, documentKey);
}

function headerValue(answer: ObservedAnswer, name: string): string | undefined {
  const value = answer.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

function schemaErrors(validate: ValidateFunction, value: unknown, label: string): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map(
    (error) =>
      `${label}: ${error.instancePath || '/'} ${error.message ?? 'is invalid'} ${JSON.stringify(error.params)}`,
  );
}

const escapePointer = (part: string) => part.replaceAll('~', '~0').replaceAll('/', '~1');
const unescapePointer = (part: string) => part.replaceAll('~1', '/').replaceAll('~0', '~');
