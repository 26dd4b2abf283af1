// StreamCrab's Flink versions of the three benchmark jobs (WordCount, WindowAgg, MapFilter), with
// the inputs and checksums of the Rust bench (streamcrab/benches/core.rs), so both engines are
// known to compute the same thing. Run: java ... Jobs <WordCount|WindowAgg|WindowAggKeys|MapFilter> <n> <parallelism> [hashmap|rocksdb] [keys]
// WindowAggKeys is WindowAgg with `keys` distinct keys (default 10 million): key(i) = mix64(i mod keys).
//
// Prints one line: RESULT job=.. par=.. n=.. records=.. seconds=.. rec_per_s=.. out_count=.. out_checksum=..
// `seconds` runs from the first open() of the source to the end of input at the last sink writer,
// both inside the job (JVM and mini-cluster start-up are not counted).

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.api.java.tuple.Tuple4;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

public final class Jobs {
    static final long GOLDEN = 0x9E3779B97F4A7C15L;

    // Shared by every subtask of the local mini-cluster, which runs in this JVM.
    static final AtomicLong START = new AtomicLong(Long.MAX_VALUE);
    static final AtomicLong END = new AtomicLong(Long.MIN_VALUE);
    static final AtomicLong COUNT = new AtomicLong();
    static final AtomicLong CHECKSUM = new AtomicLong();

    static long mix64(long x) {
        long z = x + GOLDEN;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static long umod(long x, long m) {
        return Long.remainderUnsigned(x, m);
    }

    static long fnv1a64(String s) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < s.length(); i++) {
            h = (h ^ s.charAt(i)) * 0x100000001b3L;
        }
        return h;
    }

    static String[] vocabulary() {
        String[] words = new String[10_000];
        for (long k = 0; k < words.length; k++) {
            StringBuilder w = new StringBuilder();
            w.append((char) ('a' + (k / 676) % 26)).append((char) ('a' + (k / 26) % 26)).append((char) ('a' + k % 26));
            long h = mix64(~k);
            long extra = umod(h, 6);
            for (long m = 0; m < extra; m++) {
                h = mix64(h);
                w.append((char) ('a' + umod(h, 26)));
            }
            words[(int) k] = w.toString();
        }
        return words;
    }

    static void started() {
        START.accumulateAndGet(System.nanoTime(), Math::min);
    }

    /** A sink that sums `checksum` of its inputs and records the end of input. */
    static final class ChecksumSink<T> implements Sink<T> {
        interface Checksum<T> extends java.io.Serializable {
            long of(T value);
        }

        final Checksum<T> checksum;

        ChecksumSink(Checksum<T> checksum) {
            this.checksum = checksum;
        }

        @Override
        public SinkWriter<T> createWriter(WriterInitContext context) {
            return new SinkWriter<T>() {
                long count;
                long sum;

                @Override
                public void write(T value, Context ctx) {
                    count++;
                    sum += checksum.of(value);
                }

                @Override
                public void flush(boolean endOfInput) {
                    if (endOfInput) {
                        COUNT.addAndGet(count);
                        CHECKSUM.addAndGet(sum);
                        count = 0;
                        sum = 0;
                        END.accumulateAndGet(System.nanoTime(), Math::max);
                    }
                }

                @Override
                public void close() {}
            };
        }
    }

    /** A generator that notes when the first source subtask opened. */
    abstract static class Generator<T> implements GeneratorFunction<Long, T> {
        @Override
        public void open(SourceReaderContext context) {
            started();
        }
    }

    static final class Lines extends Generator<String> {
        transient String[] vocabulary;

        @Override
        public void open(SourceReaderContext context) {
            vocabulary = vocabulary();
            super.open(context);
        }

        @Override
        public String map(Long i) {
            StringBuilder line = new StringBuilder(100);
            for (long j = 0; j < 10; j++) {
                if (j > 0) {
                    line.append(' ');
                }
                line.append(vocabulary[(int) umod(mix64(10 * i + j), 10_000)]);
            }
            return line.toString();
        }
    }

    static final class Events extends Generator<Tuple3<Long, Long, Long>> {
        @Override
        public Tuple3<Long, Long, Long> map(Long i) {
            long key = umod(mix64(i), 10_000);
            long ts = 1000 + i * 1000 / 100_000 - umod(mix64(i ^ 0x5DEECE66DL), 1000);
            return Tuple3.of(key, ts, umod(mix64(i ^ 0xABCDEFL), 1000));
        }
    }

    /** WindowAgg's events with `keys` distinct keys: key(i) = mix64(i mod keys). */
    static final class ManyKeyEvents extends Generator<Tuple3<Long, Long, Long>> {
        final long keys;

        ManyKeyEvents(long keys) {
            this.keys = keys;
        }

        @Override
        public Tuple3<Long, Long, Long> map(Long i) {
            long key = mix64(umod(i, keys));
            long ts = 1000 + i * 1000 / 100_000 - umod(mix64(i ^ 0x5DEECE66DL), 1000);
            return Tuple3.of(key, ts, umod(mix64(i ^ 0xABCDEFL), 1000));
        }
    }

    static final class SumCount implements AggregateFunction<Tuple3<Long, Long, Long>, long[], long[]> {
        @Override
        public long[] createAccumulator() {
            return new long[2];
        }

        @Override
        public long[] add(Tuple3<Long, Long, Long> event, long[] acc) {
            acc[0] += event.f2;
            acc[1] += 1;
            return acc;
        }

        @Override
        public long[] getResult(long[] acc) {
            return acc;
        }

        @Override
        public long[] merge(long[] a, long[] b) {
            return new long[] {a[0] + b[0], a[1] + b[1]};
        }
    }

    static final class WithEnd extends ProcessWindowFunction<long[], Tuple4<Long, Long, Long, Long>, Long, TimeWindow> {
        @Override
        public void process(Long key, Context ctx, Iterable<long[]> results, Collector<Tuple4<Long, Long, Long, Long>> out) {
            for (long[] r : results) {
                out.collect(Tuple4.of(key, ctx.window().getEnd(), r[0], r[1]));
            }
        }
    }

    /** `x * GOLDEN`; notes the start of the job when it opens. */
    static final class Golden extends RichMapFunction<Long, Long> {
        @Override
        public void open(OpenContext context) {
            started();
        }

        @Override
        public Long map(Long x) {
            return x * GOLDEN;
        }
    }

    static final class Split implements FlatMapFunction<String, Tuple2<String, Long>> {
        @Override
        public void flatMap(String line, Collector<Tuple2<String, Long>> out) {
            for (String word : line.split(" ")) {
                out.collect(Tuple2.of(word, 1L));
            }
        }
    }

    public static void main(String[] args) throws Exception {
        String job = args[0];
        long n = Long.parseLong(args[1]);
        int parallelism = Integer.parseInt(args[2]);
        String backend = args.length > 3 ? args[3] : "hashmap";
        long keys = args.length > 4 ? Long.parseLong(args[4]) : 10_000_000L;
        Configuration conf = new Configuration();
        conf.set(PipelineOptions.OBJECT_REUSE, true);
        conf.set(StateBackendOptions.STATE_BACKEND, backend);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);
        long records;
        switch (job) {
            case "WordCount": {
                records = n * 10;
                TypeInformation<String> type = Types.STRING;
                env.fromSource(new DataGeneratorSource<>(new Lines(), n, type), WatermarkStrategy.noWatermarks(), "lines")
                        .flatMap(new Split())
                        .returns(Types.TUPLE(Types.STRING, Types.LONG))
                        .keyBy(t -> t.f0)
                        .sum(1)
                        .sinkTo(new ChecksumSink<Tuple2<String, Long>>(t -> mix64(fnv1a64(t.f0) ^ mix64(t.f1))));
                break;
            }
            case "WindowAgg":
            case "WindowAggKeys": {
                records = n;
                WatermarkStrategy<Tuple3<Long, Long, Long>> watermarks = WatermarkStrategy
                        .<Tuple3<Long, Long, Long>>forBoundedOutOfOrderness(Duration.ofSeconds(1))
                        .withTimestampAssigner((e, previous) -> e.f1);
                Generator<Tuple3<Long, Long, Long>> events =
                        job.equals("WindowAgg") ? new Events() : new ManyKeyEvents(keys);
                env.fromSource(
                                new DataGeneratorSource<>(events, n, Types.TUPLE(Types.LONG, Types.LONG, Types.LONG)),
                                watermarks,
                                "events")
                        .keyBy(e -> e.f0)
                        .window(TumblingEventTimeWindows.of(Duration.ofSeconds(10)))
                        .aggregate(new SumCount(), new WithEnd())
                        .sinkTo(new ChecksumSink<Tuple4<Long, Long, Long, Long>>(
                                w -> mix64(mix64(mix64(mix64(w.f0) ^ w.f1) ^ w.f2) ^ w.f3)));
                break;
            }
            case "MapFilter": {
                records = n;
                env.fromSequence(0, n - 1)
                        .map(new Golden())
                        .filter(x -> (x & 3) != 0)
                        .map(x -> x ^ (x >>> 29))
                        .sinkTo(new ChecksumSink<Long>(Jobs::mix64));
                break;
            }
            default:
                throw new IllegalArgumentException("unknown job " + job + " (WordCount, WindowAgg, WindowAggKeys, MapFilter)");
        }
        env.execute(job);
        double seconds = (END.get() - START.get()) / 1e9;
        System.out.printf(
                "RESULT job=%s par=%d backend=%s n=%d records=%d seconds=%.3f rec_per_s=%.0f out_count=%d out_checksum=%s%n",
                job, parallelism, backend, n, records, seconds, records / seconds, COUNT.get(), Long.toUnsignedString(CHECKSUM.get()));
    }
}
