// Timed phases and live progress, shared by the drill and the rehearsal. The clock is
// injected so tests can make time pass without waiting.
import { errorMessage } from "../tools/cli";
import type { Phase, Report, TimelineEntry } from "./report";
import type { WrittenReport } from "./report-files";

/** Milliseconds since the epoch. `Date.now` in production, a counter in tests. */
export interface Clock {
    now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Where progress lines go (stderr in the commands). */
export type ProgressSink = (line: string) => void;

/** What every run (drill, failback, rehearsal) is handed, injectable for the tests. */
export interface RunDeps {
    clock: Clock;
    progress: ProgressSink;
    /** Aborted (with reason "SIGINT"/"SIGTERM") when the user interrupts. */
    signal: AbortSignal;
    writeReport: (report: Report) => WrittenReport;
}

/** How a run ended. `report` is absent when it stopped before touching anything. */
export interface RunResult {
    exitCode: number;
    report?: Report;
    files?: WrittenReport;
}

/** Thrown when a run is interrupted (SIGINT/SIGTERM); phases after it are skipped. */
export class InterruptedError extends Error {
    constructor(readonly signal: NodeJS.Signals) {
        super(`interrupted by ${signal}`);
    }
}

/**
 * Runs named phases one after the other, timing each with the clock, printing a line when
 * it starts and when it ends (with the elapsed time of the whole run), and keeping a
 * timeline for the report's post-mortem.
 */
export class PhaseRecorder {
    readonly phases: Phase[] = [];
    readonly timeline: TimelineEntry[] = [];

    constructor(
        private readonly clock: Clock,
        private readonly progress: ProgressSink,
        /** Start of the whole run: the zero of the elapsed times printed. */
        readonly startedMs: number = clock.now(),
    ) {}

    /** `[  12.3s]`: seconds since the run started, fixed width so lines align. */
    stamp(at: number = this.clock.now()): string {
        return `[${((at - this.startedMs) / 1000).toFixed(1).padStart(7)}s]`;
    }

    /** Prints a progress line under the current elapsed time. */
    say(message: string): void {
        this.progress(`${this.stamp()} ${message}`);
    }

    /** Adds an event to the timeline (and prints it). */
    event(message: string, at: number = this.clock.now()): void {
        this.timeline.push({ at: new Date(at).toISOString(), event: message });
        this.progress(`${this.stamp(at)} ${message}`);
    }

    /**
     * Runs one phase. Its result is recorded with ok true; a throw is recorded with ok false
     * and the error's message, then rethrown. A phase that was never entered is not recorded.
     */
    async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
        const start = this.clock.now();
        this.timeline.push({ at: new Date(start).toISOString(), event: `${name} started` });
        this.progress(`${this.stamp(start)} > ${name}`);
        try {
            const value = await fn();
            this.record(name, start, true);
            return value;
        } catch (e) {
            this.record(name, start, false, errorMessage(e));
            throw e;
        }
    }

    /** {@link run}, first stopping with the interruption when `signal` has fired: for sequences a Ctrl-C may cut between phases. */
    stepper(signal?: AbortSignal): <T>(name: string, fn: () => Promise<T>) => Promise<T> {
        return (name, fn) => {
            throwIfInterrupted(signal);
            return this.run(name, fn);
        };
    }

    /** Records a phase that started at `start` and ends now (for steps run outside {@link run}). */
    record(name: string, start: number, ok: boolean, error?: string): void {
        const end = this.clock.now();
        const seconds = round((end - start) / 1000);
        this.phases.push({
            name,
            seconds,
            ok,
            startedAt: new Date(start).toISOString(),
            ...(error !== undefined ? { error } : {}),
        });
        const what = ok ? `${name} finished` : `${name} FAILED`;
        this.timeline.push({ at: new Date(end).toISOString(), event: ok ? what : `${what}: ${error}` });
        this.progress(
            `${this.stamp(end)} ${ok ? "ok" : "FAILED"} ${name} (${seconds.toFixed(1)}s)${ok ? "" : `: ${error}`}`,
        );
    }
}

/** Rounds seconds to milliseconds (3 decimals). */
export function round(seconds: number): number {
    return Math.round(seconds * 1000) / 1000;
}

/** A sleep that ends early (rejecting with InterruptedError) when the signal aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(interruptedBy(signal));
        const timer = setTimeout(() => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
        }, ms);
        const onAbort = () => {
            clearTimeout(timer);
            reject(interruptedBy(signal!));
        };
        signal?.addEventListener("abort", onAbort, { once: true });
    });
}

/** The InterruptedError for an aborted signal (its reason is the signal name when we set it). */
export function interruptedBy(signal: AbortSignal): InterruptedError {
    const reason = signal.reason;
    return new InterruptedError(reason === "SIGTERM" ? "SIGTERM" : "SIGINT");
}

/** Throws InterruptedError when the signal has aborted. */
export function throwIfInterrupted(signal?: AbortSignal): void {
    if (signal?.aborted) throw interruptedBy(signal);
}
