/**
 * The part of js-yaml (4.x) that `tributary start --config` uses; the package ships no types.
 * `load` parses one YAML document with the default schema and throws a YAMLException on bad input.
 */
declare module 'js-yaml' {
  export function load(text: string, options?: { readonly filename?: string }): unknown;
}
