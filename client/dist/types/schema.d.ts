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
export declare const ROOM_ID = 4294967295;
/** The kind of the room state. */
export declare const ROOM_KIND = 0;
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
export type EntityOf<E> = {
    [K in keyof E & string]: Entity<E[K], K>;
}[keyof E & string];
/**
 * A game's declared kinds, as the join answer carried them. {@link Schema.parse} reads the
 * wire form; the client keeps the schema of the room it is in ({@link Client.schema}).
 */
export declare class Schema {
    /** The declared kinds by number (kind 0: the room state, when it has fields). */
    readonly kinds: ReadonlyMap<number, KindInfo>;
    private readonly shapes;
    private readonly byName;
    constructor(kinds: readonly KindInfo[]);
    /**
     * Reads the schema element of a join answer, `[[kind, name, [[field, type], ...]], ...]`.
     * Returns undefined when there is none (a game that declares nothing, an older server)
     * or it is not in that form: the client then reads fields by index only.
     */
    static parse(v: unknown): Schema | undefined;
    /** The kind named `name` (e.g. "player"), if declared. */
    kind(name: string): KindInfo | undefined;
    /** The index of field `field` of kind `kind` in its entities' `fields`, or -1. */
    fieldIndex(kind: number, field: string): number;
    /** @internal An entity of `kind` with these fields, named as declared. */
    entity(kind: number, fields: readonly unknown[]): Entity;
}
/** An entity with these fields, named as declared (no schema: unnamed). */
export declare function makeEntity(schema: Schema | undefined, kind: number, fields: readonly unknown[]): Entity;
/**
 * `e` with other fields, keeping its kind and names. `e` may be a plain `{kind, fields}`
 * (a test's), which gives an unnamed entity.
 */
export declare function withFields(e: Pick<Entity, "kind" | "fields">, fields: readonly unknown[]): Entity;
/** The index of the field named `name` in `e`, or -1 (e.g. an entity from an older server). */
export declare function fieldIndex(e: Pick<Entity, "kind" | "fields">, name: string): number;
