using System.Globalization;
using System.Runtime.InteropServices;

namespace AgentMetrics.Sidecar.Ingest;

/// <summary>One attribute value: its text (as a label would carry it) and, when it is a number, the number.</summary>
public readonly record struct AttributeValue(string Text, double? Number)
{
    /// <summary>A string value.</summary>
    public static AttributeValue Of(string text) => new(text, null);

    /// <summary>A numeric value.</summary>
    public static AttributeValue Of(double number) => new(number.ToString("R", CultureInfo.InvariantCulture), number);

    /// <summary>A boolean value, spelled true or false.</summary>
    public static AttributeValue Of(bool value) => new(value ? "true" : "false", null);
}

/// <summary>
/// The attributes of an event, data point or span. Lookups by label name also find an attribute
/// whose key becomes that label name once translated (<c>gen_ai.request.model</c> answers
/// <c>gen_ai_request_model</c>).
/// </summary>
public sealed class Attributes
{
    private readonly List<KeyValuePair<string, AttributeValue>> _items;

    /// <summary>An empty set.</summary>
    public Attributes() => _items = [];

    /// <summary>A set holding <paramref name="items"/>.</summary>
    public Attributes(List<KeyValuePair<string, AttributeValue>> items) => _items = items;

    /// <summary>The attributes in the order they came.</summary>
    public IReadOnlyList<KeyValuePair<string, AttributeValue>> Items => _items;

    /// <summary>The attributes in the order they came, to read without an enumerator.</summary>
    public ReadOnlySpan<KeyValuePair<string, AttributeValue>> AsSpan() => CollectionsMarshal.AsSpan(_items);

    /// <summary>Number of attributes.</summary>
    public int Count => _items.Count;

    /// <summary>Adds (or replaces) an attribute.</summary>
    public void Set(string key, AttributeValue value)
    {
        for (var i = 0; i < _items.Count; i++)
        {
            if (_items[i].Key == key)
            {
                _items[i] = new(key, value);
                return;
            }
        }

        _items.Add(new(key, value));
    }

    /// <summary>The attribute named exactly <paramref name="key"/>, or translating to it as a label name.</summary>
    public bool TryGet(string key, out AttributeValue value)
    {
        foreach (var item in _items)
        {
            if (item.Key == key)
            {
                value = item.Value;
                return true;
            }
        }

        foreach (var item in _items)
        {
            if (LabelNames.TranslatesTo(item.Key, key))
            {
                value = item.Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>The text of an attribute, or <paramref name="fallback"/>.</summary>
    public string Text(string key, string fallback = "") => TryGet(key, out var value) ? value.Text : fallback;
}
