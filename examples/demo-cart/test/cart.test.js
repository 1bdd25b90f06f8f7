import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cartTotal, itemCount } from '../src/cart.js';

const items = [
  { price: 50, quantity: 2 },
  { price: 25, quantity: 4 },
];

test('sums price times quantity', () => {
  assert.equal(cartTotal(items), 200);
});

test('counts items', () => {
  assert.equal(itemCount(items), 6);
});
