// Evaluates EnableResume's wrapped run condition (and, beside it, the step's old condition alone) under
// Mozilla Rhino, over the cases of test_wrapped_condition.py.
//
// usage: rhino -version 180 -encoding UTF-8 wrapped_condition_harness.js <cases.json>
// Each case: {wrapper, old, params, kept (or null), resume}. The server's expansion is modelled as the
// emulator models it: inner references first, brackets nest, `/javascript` runs the script with its
// completion value as the text, any other reference reads a property (missing: an error), and a stored
// value is expanded when read. Properties: the job's parameters (relative names and /myJob/<name>),
// /myStep/ec_resume/originalCondition (the kept old condition) and the plugin's runCondition, which
// expands to the case's resume decision. Prints one JSON list of [wrapper's text, old's text], each
// "ERROR" when the evaluation failed.

var cases = JSON.parse(readFile(arguments[0], "UTF-8"));
var globalScope = this;
var RESUME = "/plugins/EC-Resume/project/resume/runCondition";
var KEPT = "/myStep/ec_resume/originalCondition";

function own(map, key) {
    return map && Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined;
}

function matching(text, open) {
    var depth = 0;
    for (var k = open; k < text.length; k++) {
        var c = text.charAt(k);
        if (c === "[") {
            depth++;
        } else if (c === "]") {
            depth--;
            if (depth === 0) {
                return k;
            }
        }
    }
    return -1;
}

function World(testCase) {
    this.testCase = testCase;
}

World.prototype.raw = function (path) {
    var name = String(path).replace(/^\s+|\s+$/g, "");
    if (name === RESUME) {
        return this.testCase.resume;
    }
    if (name === KEPT) {
        return this.testCase.kept === null ? undefined : this.testCase.kept;
    }
    if (name.indexOf("/myJob/") === 0) {
        name = name.substring("/myJob/".length);
    }
    return own(this.testCase.params, name);
};

World.prototype.expand = function (text, depth) {
    if (depth > 32) {
        throw new Error("expansion loop");
    }
    var out = "";
    var i = 0;
    while (true) {
        var start = text.indexOf("$" + "[", i);
        if (start < 0) {
            return out + text.substring(i);
        }
        var end = matching(text, start + 1);
        if (end < 0) {
            throw new Error("unbalanced reference");
        }
        out += text.substring(i, start);
        out += this.reference(this.expand(text.substring(start + 2, end), depth), depth);
        i = end + 1;
    }
};

World.prototype.reference = function (ref, depth) {
    var script = /^\s*\/javascript\s([\s\S]*)$/.exec(ref);
    if (script) {
        var world = this;
        globalScope.myJob = this.testCase.params;
        globalScope.getProperty = function (path) {
            var value = world.raw(path);
            return value === undefined ? undefined : world.expand(String(value), depth + 1);
        };
        var value = (0, eval)(script[1]);
        return value === undefined || value === null ? "" : String(value);
    }
    var found = this.raw(ref);
    if (found === undefined) {
        throw new Error("NoSuchProperty: " + ref);
    }
    return this.expand(String(found), depth + 1);
};

function evaluate(world, text) {
    try {
        return world.expand(text, 0);
    } catch (e) {
        return "ERROR";
    }
}

var results = [];
for (var n = 0; n < cases.length; n++) {
    var world = new World(cases[n]);
    results.push([evaluate(world, cases[n].wrapper), evaluate(world, cases[n].old)]);
}
print(JSON.stringify(results));
