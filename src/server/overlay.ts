// Feedback applied at once: per user (original ids), the items and summed values received
// since the model was trained. A user with feedback is ranked by fold-in from their training
// row plus these items, so the next /recommend reflects it without a refit. Held by id, not
// index, so it carries over to every model version that is loaded later.
export class Overlay {
  private users = new Map<string, Map<string, number>>();

  add(user: string, item: string, value: number): void {
    let row = this.users.get(user);
    if (!row) this.users.set(user, (row = new Map()));
    row.set(item, (row.get(item) ?? 0) + value);
  }

  get(user: string): ReadonlyMap<string, number> | undefined {
    return this.users.get(user);
  }

  get size(): number {
    return this.users.size;
  }
}
