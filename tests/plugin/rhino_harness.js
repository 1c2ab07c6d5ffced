// Runs the EC-Resume run condition under Mozilla Rhino over the case table of run_condition_cases.py.
//
// usage: rhino -version 180 -encoding UTF-8 rhino_harness.js <cases.json> <body.js>
//   cases.json  the list RunConditionCase.as_json() produces
//   body.js     the script inside $[/javascript ...], exactly as the server would hand it over
// Prints one JSON list: for each case, the condition's value as a string (or "ERROR: ..." when the
// script itself threw, which a run condition must never do).
//
// getProperty follows the property model of run_condition_cases.py (its docstring; CaseWorld is the
// Python twin): paths split at every "/", "[" or "]" in a path throws, values are expanded.

var casesFile = arguments[0];
var bodyFile = arguments[1];
var cases = JSON.parse(readFile(casesFile, "UTF-8"));
var body = readFile(bodyFile, "UTF-8");
var globalScope = this;
var PLUGIN_SETTINGS = "/plugins/EC-Resume/project/resume/";

function own(map, key) {
    return map && Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined;
}

function findStep(steps, names) {
    var step;
    for (var i = 0; i < names.length; i++) {
        step = undefined;
        for (var j = 0; steps && j < steps.length; j++) {
            if (steps[j].stepName === names[i]) {
                step = steps[j];
            }
        }
        if (!step) {
            return undefined;
        }
        steps = step.children;
    }
    return step;
}

function World(testCase) {
    this.testCase = testCase;
    this.jobs = testCase.jobs;
    this.current = findStep(this.jobs[testCase.currentJob].steps, testCase.stepPath);
}

World.prototype.jobId = function (ref) {
    if (own(this.jobs, ref)) {
        return ref;
    }
    for (var id in this.jobs) {
        if (this.jobs[id].jobName === ref) {
            return id;
        }
    }
    return undefined;
};

World.prototype.raw = function (path) {
    if (path.indexOf(PLUGIN_SETTINGS) === 0) {
        return own(this.testCase.plugin, path.substring(PLUGIN_SETTINGS.length));
    }
    if (path === "/myJobStep/jobStepId") {
        return this.current.jobStepId;
    }
    var parts = path.split("/");
    var jobId, rest;
    if (parts.length >= 3 && parts[0] === "" && parts[1] === "myJob") {
        jobId = this.testCase.currentJob;
        rest = parts.slice(2);
    } else if (parts.length >= 4 && parts[0] === "" && parts[1] === "jobs") {
        jobId = this.jobId(parts[2]);
        rest = parts.slice(3);
    }
    return jobId === undefined ? undefined : this.belowJob(jobId, rest);
};

World.prototype.belowJob = function (jobId, rest) {
    var job = this.jobs[jobId];
    if (rest[0] === "jobSteps") {
        return this.stepField(job.steps, rest);
    }
    if (rest.length === 1) {
        var intrinsic = {jobId: jobId, jobName: job.jobName, projectName: job.projectName,
                         procedureName: job.procedureName, status: job.status};
        if (own(intrinsic, rest[0]) !== undefined) {
            return intrinsic[rest[0]];
        }
        if (own(job.params, rest[0]) !== undefined) {
            return job.params[rest[0]];
        }
    }
    return own(job.props, rest.join("/"));
};

World.prototype.stepField = function (steps, rest) {
    var step;
    while (rest.length >= 3 && rest[0] === "jobSteps") {
        step = findStep(steps, [rest[1]]);
        if (!step) {
            return undefined;
        }
        steps = step.children;
        rest = rest.slice(2);
    }
    if (!step || rest.length !== 1) {
        return undefined;
    }
    var value = own({outcome: step.outcome, start: step.start, finish: step.finish,
                     jobStepId: step.jobStepId, stepName: step.stepName}, rest[0]);
    return value === "" ? undefined : value;
};

World.prototype.getProperty = function (path, depth) {
    if (this.testCase.getPropertyThrows) {
        throw new Error("getProperty unavailable: " + path);
    }
    path = String(path);
    if (/[\[\]]/.test(path)) {
        throw new Error("InvalidPropertyName: " + path);
    }
    var value = this.raw(path);
    if (value === undefined) {
        return undefined;
    }
    var world = this;
    return String(value).replace(/\$\[([^\]]*)\]/g, function (whole, inner) {
        var found = (depth || 0) < 20 ? world.getProperty(inner, (depth || 0) + 1) : undefined;
        if (found === undefined) {
            throw new Error("cannot expand " + whole);
        }
        return found;
    });
};

// myJobStep and its parents, up to what the case says sits above the top-level steps.
function jobStepChain(world) {
    var testCase = world.testCase;
    var top;
    if (testCase.topParent === "empty") {
        top = {};
    } else if (testCase.topParent === "job") {
        top = {jobId: testCase.currentJob, jobName: world.jobs[testCase.currentJob].jobName};
    } else if (testCase.topParent === "rootStep") {
        top = {stepName: testCase.rootStepName, jobStepId: "root-" + testCase.currentJob};
    }
    var step = top;
    var steps = world.jobs[testCase.currentJob].steps;
    for (var i = 0; i < testCase.stepPath.length; i++) {
        var found = findStep(steps, [testCase.stepPath[i]]);
        step = {stepName: found.stepName, jobStepId: found.jobStepId, parent: step};
        steps = found.children;
    }
    if (testCase.stepIdMismatch) {
        step.jobStepId = "js-somewhere-else";
    }
    if (!testCase.stepIdOnObject) {
        delete step.jobStepId;
    }
    return step;
}

function evaluate(testCase) {
    var world = new World(testCase);
    var current = testCase.jobs[testCase.currentJob];
    var job = {jobId: testCase.currentJob};
    for (var name in current.params) {
        job[name] = current.params[name];
    }
    globalScope.myJob = job;
    globalScope.myJobStep = jobStepChain(world);
    globalScope.getProperty = function (path) {
        return world.getProperty(path, 0);
    };
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
