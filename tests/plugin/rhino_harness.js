// Runs the EC-Resume run condition under Mozilla Rhino over the case table of run_condition_cases.py.
//
// usage: rhino -version 180 -encoding UTF-8 rhino_harness.js <cases.json> <body.js>
//   cases.json  the list RunConditionCase.as_json() produces
//   body.js     the script inside $[/javascript ...], exactly as the server would hand it over
// Prints one JSON list: for each case, the condition's value as a string (or "ERROR: ..." when the
// script itself threw, which a run condition must never do).

var casesFile = arguments[0];
var bodyFile = arguments[1];
var cases = JSON.parse(readFile(casesFile, "UTF-8"));
var body = readFile(bodyFile, "UTF-8");
var globalScope = this;
var PLUGIN_SETTINGS = "/plugins/EC-Resume/project/resume/";

function own(map, key) {
    return Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined;
}

function propertyLookup(testCase) {
    var jobs = testCase.jobs;
    return function getProperty(path) {
        if (testCase.getPropertyThrows) {
            throw new Error("getProperty unavailable: " + path);
        }
        path = String(path);
        var match;
        if (path.indexOf(PLUGIN_SETTINGS) === 0) {
            return own(testCase.plugin, path.substring(PLUGIN_SETTINGS.length));
        }
        if ((match = /^\/myJob\/([^\/]+)$/.exec(path))) {
            return own(jobs[testCase.currentJob].params, match[1]);
        }
        if ((match = /^\/jobs\/([^\/]+)\/jobSteps\/(.+)\/outcome$/.exec(path))) {
            var stepsJob = own(jobs, match[1]);
            return stepsJob ? own(stepsJob.steps, match[2]) : undefined;
        }
        if ((match = /^\/jobs\/([^\/]+)\/([^\/]+)$/.exec(path))) {
            var paramsJob = own(jobs, match[1]);
            return paramsJob ? own(paramsJob.params, match[2]) : undefined;
        }
        return undefined;
    };
}

function jobStepChain(testCase) {
    var step = testCase.topParentEmpty ? {} : undefined;
    for (var i = 0; i < testCase.stepPath.length; i++) {
        step = {stepName: testCase.stepPath[i], parent: step};
    }
    return step;
}

function evaluate(testCase) {
    var current = testCase.jobs[testCase.currentJob];
    var job = {jobId: testCase.currentJob};
    for (var name in current.params) {
        job[name] = current.params[name];
    }
    globalScope.myJob = job;
    globalScope.myJobStep = jobStepChain(testCase);
    globalScope.getProperty = propertyLookup(testCase);
    try {
        return String((0, eval)(body));  // global eval: the value of the script's last expression
    } catch (e) {
        return "ERROR: " + e;
    }
}

var results = [];
for (var i = 0; i < cases.length; i++) {
    results.push(evaluate(cases[i]));
}
print(JSON.stringify(results));
