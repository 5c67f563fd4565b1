/**
 * Type-level check, run by `npm run typecheck`: the SDK's hand-written wire types (src/types.ts) must stay
 * assignable to and from the collector's schema types in @trackmate/schema. A drift is a compile error here.
 */
import type {
  ClientEvent as SchemaEvent,
  FormFields as SchemaFormFields,
  OrderItem as SchemaOrderItem,
  StandardEventPropertiesMap,
} from '@trackmate/schema';
import type { ClientEvent, FormFields, OrderItem, StandardEvents } from '../src/types.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const ok = <T extends true>(_: T) => _;

// What the SDK sends is a valid schema event (the schema's extra fields are collector-side).
ok<ClientEvent extends Omit<SchemaEvent, 'writeKey' | 'sentAt'> ? true : false>(true);
ok<Omit<SchemaEvent, 'writeKey' | 'sentAt'> extends ClientEvent ? true : false>(true);
ok<FormFields extends SchemaFormFields ? true : false>(true);
ok<OrderItem extends SchemaOrderItem ? true : false>(true);
ok<SchemaOrderItem extends OrderItem ? true : false>(true);
ok<Same<keyof StandardEvents, keyof StandardEventPropertiesMap>>(true);
// Every standard event's properties, as the SDK types them, satisfy the schema's required properties.
ok<
  {
    [K in keyof StandardEvents]: StandardEvents[K] extends StandardEventPropertiesMap[K] ? true : false;
  }[keyof StandardEvents]
>(true);
