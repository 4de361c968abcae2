using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace MLNetSeg.Torch.Serialization.Pickle;

/// <summary>What a pickle may call: the only way an unpickled stream reaches code.</summary>
internal abstract class PickleGlobal
{
    protected PickleGlobal(string qualifiedName) => QualifiedName = qualifiedName;

    /// <summary>"module.name", as the pickle spelled it.</summary>
    public string QualifiedName { get; }

    /// <summary>REDUCE: callable(*args). <paramref name="fail"/> builds an error located in the stream.</summary>
    public virtual object? Call(CheckpointTuple args, Func<string, Exception> fail) =>
        throw fail($"{QualifiedName} cannot be called");

    /// <summary>NEWOBJ: cls.__new__(cls, *args).</summary>
    public virtual object? New(CheckpointTuple args, Func<string, Exception> fail) =>
        throw fail($"{QualifiedName} cannot be instantiated with NEWOBJ");

    public override string ToString() => QualifiedName;
}

/// <summary>Supplies the globals a pickle may name (an allow-list) and its persistent objects.</summary>
internal interface IPickleResolver
{
    /// <summary>Returns the global or throws (naming it) when it is not allowed.</summary>
    PickleGlobal FindGlobal(string module, string name, Func<string, Exception> fail);

    object? PersistentLoad(object? pid, Func<string, Exception> fail);
}

/// <summary>
/// A minimal pickle virtual machine for data only: it builds dicts, lists, tuples and
/// primitives, and reaches code solely through <see cref="IPickleResolver.FindGlobal"/>, so a
/// stream can do nothing the resolver does not allow. It accepts the opcodes of protocols 2
/// to 4 that carry data (protocol 2 is what torch.save writes; the protocol 3/4 framing and
/// string opcodes cost nothing extra); the text opcodes of protocol 0 and 1, extension
/// registries, INST/OBJ and out-of-band buffers are refused. It is iterative, and containers may nest
/// at most <see cref="MaxDepth"/> deep: what reads the tree afterwards (a tuple's hash, equality and
/// text recurse into its items) cannot overflow the call stack, which would end the process.
/// </summary>
internal sealed class Unpickler
{
    /// <summary>The deepest nesting of containers accepted (checkpoints nest a few levels).</summary>
    public const int MaxDepth = 100;

    /// <summary>The longest LONG1/LONG4 integer accepted, in bytes (checkpoints hold 64-bit ints, and
    /// the legacy format's 80-bit magic number; printing a huge one in a message would take long).</summary>
    private const int MaxLongBytes = 1024;

    private readonly Stream input;
    private readonly string where;
    private readonly IPickleResolver resolver;
    private readonly List<object?> stack = new();
    private readonly Stack<int> marks = new();
    private readonly Dictionary<long, object?> memo = new();
    private readonly Dictionary<object, int> depths = new(ReferenceEqualityComparer.Instance);  // containers' nesting
    private long position;  // bytes consumed, for error messages
    private long opcodeAt;

    /// <summary>An unpickler for one stream.</summary>
    /// <param name="input">The pickle bytes, read from the current position.</param>
    /// <param name="where">names the stream in errors, e.g. "model.pth (archive/data.pkl)".</param>
    /// <param name="resolver">The allow-list of globals and the source of persistent objects.</param>
    public Unpickler(Stream input, string where, IPickleResolver resolver)
    {
        this.input = input;
        this.where = where;
        this.resolver = resolver;
    }

    private Exception Fail(string message) => new CheckpointFormatException(where, $"{where}, pickle byte {opcodeAt}: {message}");

    /// <summary>Reads one pickle (up to and including its STOP) and returns its value.</summary>
    public object? Load()
    {
        while (true)
        {
            opcodeAt = position;
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                    int version = ReadByte();
                    if (version > 5) throw Fail($"pickle protocol {version} is newer than any this reader knows (≤ 5)");
                    break;
                case 0x95: // FRAME (protocol 4): a length we do not need
                    ReadBytes(8);
                    break;
                case (byte)'.': // STOP
                    if (stack.Count != 1 || marks.Count != 0) throw Fail($"STOP with {stack.Count} values and {marks.Count} marks on the stack (corrupt pickle)");
                    return Pop();

                // ---- stack manipulation
                case (byte)'(': marks.Push(stack.Count); break;                   // MARK
                case (byte)'0': Pop(); break;                                      // POP
                case (byte)'1': PopMark(); break;                                  // POP_MARK
                case (byte)'2': stack.Add(Peek()); break;                          // DUP

                // ---- memo
                case (byte)'h': stack.Add(MemoGet(ReadByte())); break;             // BINGET
                case (byte)'j': stack.Add(MemoGet(ReadUInt32())); break;           // LONG_BINGET
                case (byte)'q': memo[ReadByte()] = Peek(); break;                  // BINPUT
                case (byte)'r': memo[ReadUInt32()] = Peek(); break;                // LONG_BINPUT
                case 0x94: memo[memo.Count] = Peek(); break;                       // MEMOIZE

                // ---- constants and numbers
                case (byte)'N': stack.Add(null); break;                            // NONE
                case 0x88: stack.Add(true); break;                                 // NEWTRUE
                case 0x89: stack.Add(false); break;                                // NEWFALSE
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break; // BININT
                case (byte)'K': stack.Add((long)ReadByte()); break;                // BININT1
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break; // BININT2
                case 0x8a: stack.Add(ReadLong(ReadByte())); break;                 // LONG1
                case 0x8b: stack.Add(ReadLong(ReadLength(4, "LONG4"))); break;     // LONG4 (length checked in ReadLong)
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break; // BINFLOAT

                // ---- strings and bytes
                case (byte)'X': stack.Add(ReadUtf8(ReadLength(4, "BINUNICODE"))); break;
                case 0x8c: stack.Add(ReadUtf8(ReadByte())); break;                 // SHORT_BINUNICODE
                case 0x8d: stack.Add(ReadUtf8(ReadLength(8, "BINUNICODE8"))); break;
                // Python 2 str (legacy checkpoints): torch decodes these as ASCII; Latin-1 maps every byte.
                case (byte)'T': stack.Add(Encoding.Latin1.GetString(ReadBytes(ReadLength(4, "BINSTRING")))); break;
                case (byte)'U': stack.Add(Encoding.Latin1.GetString(ReadBytes(ReadByte()))); break; // SHORT_BINSTRING
                case (byte)'B': stack.Add(ReadBytes(ReadLength(4, "BINBYTES"))); break;
                case (byte)'C': stack.Add(ReadBytes(ReadByte())); break;           // SHORT_BINBYTES
                case 0x8e: stack.Add(ReadBytes(ReadLength(8, "BINBYTES8"))); break;

                // ---- containers
                case (byte)']': stack.Add(new List<object?>()); break;             // EMPTY_LIST
                case (byte)'l': { var items = PopMark(); stack.Add(Nest(new List<object?>(items), items)); break; } // LIST
                case (byte)'a': { var item = Pop(); Nest(AsList(Peek(), "APPEND"), new[] { item }).Add(item); break; }
                case (byte)'e': { var items = PopMark(); Nest(AsList(Peek(), "APPENDS"), items).AddRange(items); break; }
                case (byte)')': stack.Add(CheckpointTuple.Empty); break;           // EMPTY_TUPLE
                case (byte)'t': stack.Add(Tuple(PopMark().ToArray())); break;       // TUPLE
                case 0x85: stack.Add(Tuple(Pop())); break;                          // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); stack.Add(Tuple(a, b)); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); stack.Add(Tuple(a, b, c)); break; }
                case (byte)'}': stack.Add(new CheckpointDict()); break;            // EMPTY_DICT
                case (byte)'d': { var dict = new CheckpointDict(); SetItems(dict, PopMark()); stack.Add(dict); break; } // DICT
                case (byte)'s': { var v = Pop(); var k = Pop(); SetItems(AsDict(Peek(), "SETITEM"), new List<object?> { k, v }); break; }
                case (byte)'u': { var items = PopMark(); SetItems(AsDict(Peek(), "SETITEMS"), items); break; }

                // ---- code: only through the resolver's allow-list
                case (byte)'c': stack.Add(resolver.FindGlobal(ReadLine("GLOBAL module"), ReadLine("GLOBAL name"), Fail)); break;
                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop();
                    var module = Pop();
                    if (module is not string m || name is not string n) throw Fail("STACK_GLOBAL needs two strings");
                    stack.Add(resolver.FindGlobal(m, n, Fail));
                    break;
                }
                case (byte)'R': // REDUCE
                {
                    var args = Pop();
                    var callable = Pop();
                    if (callable is not PickleGlobal g) throw Fail($"REDUCE calls {Article(PythonType(callable))}, not an allowed global");
                    if (args is not CheckpointTuple t) throw Fail($"REDUCE of {g} with {PythonType(args)} arguments instead of a tuple");
                    stack.Add(NestResult(g.Call(t, Fail)));
                    break;
                }
                case 0x81: // NEWOBJ
                {
                    var args = Pop();
                    var cls = Pop();
                    if (cls is not PickleGlobal g) throw Fail($"NEWOBJ of {Article(PythonType(cls))}, not an allowed class");
                    if (args is not CheckpointTuple t) throw Fail($"NEWOBJ of {g} with {PythonType(args)} arguments instead of a tuple");
                    stack.Add(NestResult(g.New(t, Fail)));
                    break;
                }
                case (byte)'b': Build(Pop(), Peek()); break;                       // BUILD
                case (byte)'Q': stack.Add(resolver.PersistentLoad(Pop(), Fail)); break; // BINPERSID

                default:
                    throw Fail($"opcode 0x{op:x2}{Describe(op)} is not supported by this data-only reader");
            }
        }
    }

    private static string Describe(byte op) => op switch
    {
        (byte)'I' or (byte)'L' or (byte)'S' or (byte)'V' or (byte)'F' or (byte)'g' or (byte)'p' or (byte)'P' =>
            $" ('{(char)op}', a protocol 0 text opcode)",
        (byte)'i' or (byte)'o' => $" ('{(char)op}', INST/OBJ)",
        0x82 or 0x83 or 0x84 => " (EXT1/2/4, the copyreg extension registry)",
        0x90 or 0x91 or 0x92 => " (a set opcode)",
        0x96 or 0x97 or 0x98 => " (a protocol 5 out-of-band buffer)",
        _ => op is >= 0x20 and < 0x7f ? $" ('{(char)op}')" : "",
    };

    // ---- BUILD: instance state. Only dicts take it (OrderedDict._metadata of a state dict).
    private void Build(object? state, object? target)
    {
        if (target is not CheckpointDict dict)
            throw Fail($"BUILD sets state on {Article(PythonType(target))}; only dicts may carry attributes here");
        // state is either a dict of attributes or (dict state, slot state).
        var parts = state is CheckpointTuple { Count: 2 } pair ? new[] { pair[0], pair[1] } : new[] { state };
        foreach (var part in parts)
        {
            if (part is null) continue;
            if (part is not CheckpointDict attributes) throw Fail($"BUILD with {Article(PythonType(part))} state on a dict");
            Nest(dict, attributes.Values);
            foreach (var (k, v) in attributes)
                dict.SetAttribute(k as string ?? throw Fail($"BUILD attribute name {PythonType(k)} is not a string"), v);
        }
    }

    private void SetItems(CheckpointDict dict, List<object?> flat)
    {
        if (flat.Count % 2 != 0) throw Fail("an odd number of items for a dict");
        Nest(dict, flat);  // before the keys are hashed: a tuple key's hash recurses into it
        for (int i = 0; i < flat.Count; i += 2) dict.Set(DictKey(flat[i]), flat[i + 1]);
    }

    // ---- nesting depth: a container is one deeper than its deepest item, as it is filled (growing a
    // list already nested elsewhere does not update its parents; tuples, whose hash, equality and
    // text recurse, never grow, so their depth is exact).

    private T Nest<T>(T container, IEnumerable<object?> items) where T : class
    {
        int depth = Math.Max(1, depths.GetValueOrDefault(container));
        foreach (var item in items)
            if (item is not null && depths.TryGetValue(item, out int d)) depth = Math.Max(depth, d + 1);
        if (depth > MaxDepth) throw Fail($"containers nest deeper than {MaxDepth} levels (corrupt or hostile pickle)");
        depths[container] = depth;
        return container;
    }

    private CheckpointTuple Tuple(params object?[] items) => Nest(new CheckpointTuple(items), items);

    private object? NestResult(object? value) => value is CheckpointDict dict ? Nest(dict, dict.Keys.Concat(dict.Values)) : value;

    private object DictKey(object? key) => key switch
    {
        string or long or BigInteger or double or bool or byte[] or CheckpointTuple => key,
        null => throw Fail("None as a dict key is not supported"),
        _ => throw Fail($"{Article(PythonType(key))} as a dict key is not supported"),
    };

    private List<object?> AsList(object? o, string op) => o as List<object?> ?? throw Fail($"{op} on {Article(PythonType(o))}, not a list");
    private CheckpointDict AsDict(object? o, string op) => o as CheckpointDict ?? throw Fail($"{op} on {Article(PythonType(o))}, not a dict");

    /// <summary>"a dict", "an int": for messages.</summary>
    internal static string Article(string typeName) => ("aeiouAEIOU".Contains(typeName[0]) ? "an " : "a ") + typeName;

    /// <summary>Python's name for a value's type, for messages.</summary>
    internal static string PythonType(object? o) => o switch
    {
        null => "None",
        string => "str",
        long or BigInteger => "int",
        double => "float",
        bool => "bool",
        byte[] => "bytes",
        List<object?> => "list",
        CheckpointTuple => "tuple",
        CheckpointDict => "dict",
        Tensor => "Tensor",
        PickleGlobal g => g.QualifiedName,
        _ => o.GetType().Name,
    };

    // ---- stack

    private object? Pop()
    {
        if (stack.Count == 0 || (marks.Count > 0 && marks.Peek() == stack.Count)) throw Fail("stack underflow (corrupt pickle)");
        var top = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return top;
    }

    private object? Peek()
    {
        if (stack.Count == 0 || (marks.Count > 0 && marks.Peek() == stack.Count)) throw Fail("stack underflow (corrupt pickle)");
        return stack[^1];
    }

    private List<object?> PopMark()
    {
        if (marks.Count == 0) throw Fail("no MARK to pop to (corrupt pickle)");
        int start = marks.Pop();
        var items = stack.GetRange(start, stack.Count - start);
        stack.RemoveRange(start, stack.Count - start);
        return items;
    }

    private object? MemoGet(long index) =>
        memo.TryGetValue(index, out var value) ? value : throw Fail($"memo entry {index} was never stored (corrupt pickle)");

    // ---- reading

    private byte ReadByte()
    {
        int b = input.ReadByte();
        if (b < 0) throw Truncated();
        position++;
        return (byte)b;
    }

    private byte[] ReadBytes(long count)
    {
        if (input.CanSeek && count > input.Length - input.Position) throw Truncated();
        var buffer = new byte[count];
        try { input.ReadExactly(buffer); }
        catch (EndOfStreamException) { throw Truncated(); }
        position += count;
        return buffer;
    }

    private uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4));

    private long ReadLength(int bytes, string op)
    {
        var raw = ReadBytes(bytes);
        long length = bytes == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(raw) : BinaryPrimitives.ReadInt64LittleEndian(raw);
        if (length < 0 || length > Array.MaxLength) throw Fail($"{op} length {length} is not plausible (corrupt pickle)");
        return length;
    }

    /// <summary>LONG1/LONG4 payload: a little-endian two's-complement integer.</summary>
    private object ReadLong(long byteCount)
    {
        if (byteCount > MaxLongBytes) throw Fail($"an integer of {byteCount} bytes is longer than the {MaxLongBytes} bytes supported (corrupt pickle)");
        var value = new BigInteger(ReadBytes(byteCount), isUnsigned: false, isBigEndian: false);
        // (object) matters: without it both branches are BigInteger, and 64-bit values came back as BigInteger too.
        return value >= long.MinValue && value <= long.MaxValue ? (object)(long)value : value;
    }

    private string ReadUtf8(long byteCount)
    {
        try { return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(ReadBytes(byteCount)); }
        catch (DecoderFallbackException) { throw Fail("a string is not valid UTF-8"); }
    }

    private string ReadLine(string what)
    {
        var bytes = new List<byte>();
        while (true)
        {
            byte b = ReadByte();
            if (b == (byte)'\n') break;
            if (bytes.Count >= 1024) throw Fail($"{what} is longer than 1024 bytes (corrupt pickle)");
            bytes.Add(b);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private Exception Truncated() => new CheckpointFormatException(where, $"{where}: the pickle ends early at byte {position} (truncated file?)");
}
