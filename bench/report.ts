/** One measured figure, printed with its goal so a reader sees at once whether it holds. */
export interface Figure {
  /** What was measured, e.g. `per-key loader, 32 workers: keys/s ÷ bound`. */
  label: string;
  value: number;
  /** The goal, when there is one. */
  goal?: { atLeast: number } | { atMost: number };
  /** Unit or format hint for the value, e.g. `MiB`; ratios have none. */
  unit?: string;
  /** The reference and raw numbers behind a ratio, printed after it. */
  detail?: string;
}

/** The middle value (the upper one of an even count); NaN for none. */
export const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const format = (value: number): string =>
  Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(Math.abs(value) < 10 ? 3 : 1);

export const meetsGoal = (figure: Figure): boolean | undefined => {
  if (!figure.goal) return undefined;
  return 'atLeast' in figure.goal ? figure.value >= figure.goal.atLeast : figure.value <= figure.goal.atMost;
};

/** Prints `label: value unit  (goal ≥ x) ok|MISSED  — detail`. */
export const printFigure = (figure: Figure): void => {
  const unit = figure.unit ? ` ${figure.unit}` : '';
  let goal = '';
  if (figure.goal) {
    const bound =
      'atLeast' in figure.goal ? `≥ ${format(figure.goal.atLeast)}` : `≤ ${format(figure.goal.atMost)}`;
    goal = `  (goal ${bound}${unit}) ${meetsGoal(figure) ? 'ok' : 'MISSED'}`;
  }
  const detail = figure.detail ? `  — ${figure.detail}` : '';
  console.log(`  ${figure.label}: ${format(figure.value)}${unit}${goal}${detail}`);
};

/** Prints a scenario heading. */
export const printScenario = (title: string): void => {
  console.log(`\n${title}`);
};
