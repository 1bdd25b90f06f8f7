/** Total of a shopping cart: sum of price times quantity, less a discount given in percent. */
export function cartTotal(items, discountPercent = 0) {
  const subtotal = items.reduce((sum, item) => sum + item.price * item.quantity, 0);
  return subtotal - discountPercent;
}

export function itemCount(items) {
  return items.reduce((count, item) => count + item.quantity, 0);
}
