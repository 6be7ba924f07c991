/** A bounded ring of recent events, formatted lazily: tracing costs nothing when disabled. */
export class Trace {
  private readonly events: string[] = [];
  private next = 0;

  constructor(readonly eventsMax: number) {}

  get enabled(): boolean {
    return this.eventsMax > 0;
  }

  add(tick: number, describe: () => string): void {
    if (this.eventsMax === 0) return;
    const line = `t${String(tick).padStart(5, '0')} ${describe()}`;
    if (this.events.length < this.eventsMax) {
      this.events.push(line);
    } else {
      this.events[this.next] = line;
      this.next = (this.next + 1) % this.eventsMax;
    }
  }

  lines(): string[] {
    return [...this.events.slice(this.next), ...this.events.slice(0, this.next)];
  }
}
