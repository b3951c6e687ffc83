/**
 * How a request names a customer, the rules the backfill and ingest endpoints share (the customers themselves are
 * in `state.ts`, and the control API adds them). As Orb: a `customer_id` must name a customer that exists; an
 * event's `external_customer_id` need not (its events go to the customer created later with it), while a
 * backfill's must (its body shows the customer's Orb id).
 */
import type * as State from "./state.js"
import * as Wire from "./wire.js"

const customerNotFound = (key: "customer_id" | "external_customer_id", id: string) =>
  Wire.problem(
    "ResourceNotFound",
    "Resource not found",
    `No customer with ${key === "customer_id" ? "id" : "external id"} ${JSON.stringify(id)}`
  )

/**
 * The customer a new backfill is scoped to (its Orb id, `null` for none), whichever id names it, or the 404 that
 * names the customer that does not exist. At most one of the ids is given (the caller checked).
 */
export const backfillScope = (
  state: State.State,
  customerId: string | null,
  externalCustomerId: string | null
): { readonly scopedTo: string | null } | { readonly refused: Wire.Response } => {
  if (customerId !== null) {
    if (!state.hasCustomer(customerId)) return { refused: customerNotFound("customer_id", customerId) }
    return { scopedTo: customerId }
  }
  if (externalCustomerId !== null) {
    const id = state.existingCustomerIdFor(externalCustomerId)
    if (id === undefined) return { refused: customerNotFound("external_customer_id", externalCustomerId) }
    return { scopedTo: id }
  }
  return { scopedTo: null }
}

/**
 * An event's customer: what is wrong with its customer fields (pushed onto `errors`) and the Orb id its event goes
 * to (for an external id no customer has yet, the id made up for the customer that will have it; `""` when
 * neither id was given).
 */
export const ofEvent = (
  state: State.State,
  customerId: string | undefined,
  externalCustomerId: string | undefined,
  errors: Array<string>
): string => {
  if ((customerId !== undefined) === (externalCustomerId !== undefined)) {
    errors.push("exactly one of customer_id and external_customer_id is required")
  } else if (customerId !== undefined && !state.hasCustomer(customerId)) {
    errors.push(`customer_id: no customer with id ${JSON.stringify(customerId)}`)
  }
  return customerId ?? (externalCustomerId === undefined ? "" : state.customerIdFor(externalCustomerId))
}
