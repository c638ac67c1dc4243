/**
 * Named, typed entity fields: the schema a game declares in Go (state.Schema), learned from
 * the join answer (PROTOCOL.md, "Schema"), and the entities the mirror makes with it.
 */

/** What a declared field holds (PROTOCOL.md's type names). */
export type FieldType = "int" | "uint" | "float" | "bool" | "string" | "bytes" | "any";

/** One declared field. */
export interface FieldInfo {
  readonly name: string;
  readonly type: string;
}

/** One declared entity kind: kind 0, "room", is the room state. */
export interface KindInfo {
  readonly kind: number;
  readonly name: string;
  /** In the order of the snapshots' field arrays. */
  readonly fields: readonly FieldInfo[];
}

/** The id of the room state (PROTOCOL.md, "Schema"): one entity per room, of kind 0. */
export const ROOM_ID = 0xffffffff;
/** The kind of the room state. */
export const ROOM_KIND = 0;

/** Values of an entity whose kind the schema does not declare: none by name. */
export type AnyValues = Record<string, unknown>;

/**
 * One replicated entity: the kind the game defines and its fields in the game's order, and
 * when the game declares its kinds, the kind's name and the fields by name (`values`).
 * `V` and `K` are a kind's values and name, as state/tsgen generates them.
 */
export interface Entity<V = AnyValues, K extends string = string> {
  readonly kind: number;
  /** The kind's declared name, "" if the server declared none. */
  readonly kindName: K;
  /** The fields by index, as they travel. */
  readonly fields: readonly unknown[];
  /** The fields by their declared names (empty if the kind is not declared). */
  readonly values: Readonly<V>;
  /** One field by its declared name (undefined if there is no such field). */
  get<N extends keyof V & string>(name: N): V[N];
}

/**
 * The entity type of a game whose kinds are `E` (state/tsgen's `Entities`: kind name →
 * values): a union narrowed by `kindName`, e.g.
 * `if (e.kindName === "player") e.values.x`.
 */
export type EntityOf<E> = { [K in keyof E & string]: Entity<E[K], K> }[keyof E & string];

/** How the mirror names one kind's fields. */
interface Shape {
  readonly name: string;
  readonly names: readonly string[];
}

const UNNAMED: Shape = { name: "", names: [] };

class NamedEntity implements Entity {
  readonly kind: number;
  readonly kindName: string;
  readonly fields: readonly unknown[];
  readonly values: Readonly<AnyValues>;
  /** @internal */
  readonly shape: Shape;
  constructor(kind: number, shape: Shape, fields: readonly unknown[]) {
    this.kind = kind;
    this.kindName = shape.name;
    this.fields = fields;
    this.shape = shape;
    const values: AnyValues = {};
    const n = shape.names;
    for (let i = 0; i < n.length; i++) values[n[i]] = fields[i];
    this.values = Object.freeze(values);
    Object.freeze(this);
  }
  get(name: string): unknown {
    return this.values[name];
  }
}

/**
 * A game's declared kinds, as the join answer carried them. {@link Schema.parse} reads the
 * wire form; the client keeps the schema of the room it is in ({@link Client.schema}).
 */
export class Schema {
  /** The declared kinds by number (kind 0: the room state, when it has fields). */
  readonly kinds: ReadonlyMap<number, KindInfo>;
  private readonly shapes = new Map<number, Shape>();
  private readonly byName = new Map<string, KindInfo>();

  constructor(kinds: readonly KindInfo[]) {
    const m = new Map<number, KindInfo>();
    for (const k of kinds) {
      m.set(k.kind, k);
      this.byName.set(k.name, k);
      this.shapes.set(k.kind, Object.freeze({ name: k.name, names: Object.freeze(k.fields.map((f) => f.name)) }));
    }
    this.kinds = m;
  }

  /**
   * Reads the schema element of a join answer, `[[kind, name, [[field, type], ...]], ...]`.
   * Returns undefined when there is none (a game that declares nothing, an older server)
   * or it is not in that form: the client then reads fields by index only.
   */
  static parse(v: unknown): Schema | undefined {
    if (!Array.isArray(v)) return undefined;
    const kinds: KindInfo[] = [];
    for (const k of v) {
      if (!Array.isArray(k) || k.length < 3 || typeof k[1] !== "string" || !Array.isArray(k[2])) return undefined;
      const kind = typeof k[0] === "bigint" ? Number(k[0]) : k[0];
      if (typeof kind !== "number" || !Number.isInteger(kind) || kind < 0 || kind > 255) return undefined;
      const fields: FieldInfo[] = [];
      for (const f of k[2]) {
        if (!Array.isArray(f) || typeof f[0] !== "string") return undefined;
        fields.push(Object.freeze({ name: f[0], type: typeof f[1] === "string" ? f[1] : "any" }));
      }
      kinds.push(Object.freeze({ kind, name: k[1], fields: Object.freeze(fields) }));
    }
    return new Schema(kinds);
  }

  /** The kind named `name` (e.g. "player"), if declared. */
  kind(name: string): KindInfo | undefined {
    return this.byName.get(name);
  }

  /** The index of field `field` of kind `kind` in its entities' `fields`, or -1. */
  fieldIndex(kind: number, field: string): number {
    return this.shapes.get(kind)?.names.indexOf(field) ?? -1;
  }

  /** @internal An entity of `kind` with these fields, named as declared. */
  entity(kind: number, fields: readonly unknown[]): Entity {
    return new NamedEntity(kind, this.shapes.get(kind) ?? UNNAMED, fields);
  }
}

/** An entity with these fields, named as declared (no schema: unnamed). */
export function makeEntity(schema: Schema | undefined, kind: number, fields: readonly unknown[]): Entity {
  return schema === undefined ? new NamedEntity(kind, UNNAMED, fields) : schema.entity(kind, fields);
}

/**
 * `e` with other fields, keeping its kind and names. `e` may be a plain `{kind, fields}`
 * (a test's), which gives an unnamed entity.
 */
export function withFields(e: Pick<Entity, "kind" | "fields">, fields: readonly unknown[]): Entity {
  return new NamedEntity(e.kind, e instanceof NamedEntity ? e.shape : UNNAMED, fields);
}

/** The index of the field named `name` in `e`, or -1 (e.g. an entity from an older server). */
export function fieldIndex(e: Pick<Entity, "kind" | "fields">, name: string): number {
  return e instanceof NamedEntity ? e.shape.names.indexOf(name) : -1;
}
