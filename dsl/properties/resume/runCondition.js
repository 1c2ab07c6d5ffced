$[/javascript // EC-Resume run condition (the resume rule, version 2): "false" skips this step, "true" runs it.
// A step is skipped only when the job named by this job's jobToRestart is a completed job of this same
// project and procedure, this step's path leads back to this very step, the step is not at or after the
// start step, and it is done in that job (or skipped there because that job resumed one where it is
// done) without having started after that job's failure, and this job's ec_resume/runAgain does not
// name it (ResumableStep could not restore what it produced). Anything unsure runs the step.
// Valid ES5 with no square brackets anywhere, so the server's reference scanner sees one outer
// reference only (so "(U)" marks what relies on an unverified server behaviour). It never throws: a
// failure here runs the step.
// lib/ec_resume/resume_rule.py is the same rule in Python (the plan); one case table tests both.
(function () {
    var SETTINGS = "/plugins/EC-Resume/project/resume/";
    var SEP = "/jobSteps/";
    var DEFAULT_DONE = "success";
    var DEFAULT_CHAIN = 10;
    var NO_FAILURE = "none";
    var MAX_NESTING = 100;
    var JOB_REFERENCE = /^\w(\w|\.|:|-)*$/;
    // "/", "$" and the two brackets: a name with one cannot be addressed by a property path.
    var ODD = "/$" + String.fromCharCode(91, 93);

    function trimmed(value) {
        if (value === undefined || value === null) {
            return "";
        }
        return String(value).replace(/^\s+|\s+$/g, "");
    }

    // Missing reads as ""; a read that throws (a bad path, a value that fails to expand) too.
    function read(path) {
        try {
            return trimmed(getProperty(path));
        } catch (e) {
            return "";
        }
    }

    // Each name is read once: every read is a call into the server.
    function nameOf(step) {
        var name = step ? step.stepName : undefined;
        if (name === undefined || name === null) {
            return "";
        }
        return String(name);
    }

    function isOdd(name) {
        for (var i = 0; i < ODD.length; i++) {
            if (name.indexOf(ODD.charAt(i)) >= 0) {
                return true;
            }
        }
        return false;
    }

    // The id of a completed job of this project and procedure that `ref` names, else "".
    function sameProcedureJob(ref, here) {
        if (!JOB_REFERENCE.test(ref)) {
            return "";
        }
        var base = "/jobs/" + ref + "/";
        var id = read(base + "jobId");
        if (id === "" || read(base + "projectName") !== here.project ||
                read(base + "procedureName") !== here.procedure || read(base + "status") !== "completed") {
            return "";
        }
        return id;
    }

    // deploy/jobSteps/upload, checked to lead back to this very step; "" when it cannot be.
    // (U) A real server may put a named root step above the top-level steps: leading names whose path
    // does not lead back are dropped. (U) /myJob/jobSteps/<path>/jobStepId is a readable property.
    function stepPath() {
        var names = new Array();
        var step = myJobStep;
        var name = nameOf(step);
        while (name !== "") {
            if (names.length >= MAX_NESTING || isOdd(name)) {
                return "";
            }
            names.unshift(name);
            step = step.parent;
            name = nameOf(step);
        }
        // (U) myJobStep.jobStepId is the step's id; /myJobStep/jobStepId is asked when it is not there.
        var id = trimmed(myJobStep.jobStepId);
        if (id === "") {
            id = read("/myJobStep/jobStepId");
        }
        for (var k = 0; id !== "" && k < names.length; k++) {
            var candidate = names.slice(k).join(SEP);
            if (read("/myJob/jobSteps/" + candidate + "/jobStepId") === id) {
                return candidate;
            }
        }
        return "";
    }

    // (U) start is the server's own timestamp, one sortable format throughout.
    function stepRead(jobId, path, field) {
        return read("/jobs/" + jobId + "/jobSteps/" + path + "/" + field);
    }

    // The start step (RestartJob / --from-step): it, what is inside it, the calls around it and what
    // started after it in the restarted job run. What cannot be ordered runs.
    function atOrAfterStartStep(jobId, path) {
        var from = read("/myJob/ec_resume/fromStep");
        if (from === "") {
            from = read("/jobs/" + jobId + "/ec_resume/pendingFromStep");
        }
        if (from === "") {
            return false;
        }
        if (path === from || path.indexOf(from + SEP) === 0 || from.indexOf(path + SEP) === 0) {
            return true;
        }
        var fromStart = stepRead(jobId, from, "start");
        var start = stepRead(jobId, path, "start");
        if (fromStart === "" || (start === "" && stepRead(jobId, path, "outcome") !== "")) {
            return true;
        }
        return start >= fromStart;
    }

    // Done in jobId, or skipped there because that job resumed one where it is done; a step that
    // started after the job's failure is not trusted (unless the rule setting is perStep).
    function doneIn(jobId, path, here, settings) {
        var visited = "," + here.jobId + ",";
        var depth = 1;
        while (true) {
            visited += jobId + ",";
            var outcome = stepRead(jobId, path, "outcome").toLowerCase();
            if (outcome === "") {
                return false;
            }
            // failedAt: the failed step's finish, NO_FAILURE, or nothing when no one recorded it (the job
            // was restarted by hand and had no CreateRestartLink): then what ran after a failure cannot be
            // told apart, and the step runs.
            // A done step with no start time cannot be ordered before the failure either.
            var failedAt = settings.perStep ? NO_FAILURE : read("/jobs/" + jobId + "/ec_resume/failedAt");
            var isDone = settings.done.indexOf("," + outcome + ",") >= 0;
            var start = stepRead(jobId, path, "start");
            if (failedAt === "" ||
                    (failedAt !== NO_FAILURE && (start >= failedAt || (start === "" && isDone)))) {
                return false;
            }
            if (isDone) {
                return true;
            }
            if (outcome !== "skipped") {
                return false;
            }
            // (U) /jobs/<id>/jobToRestart reads that job's actual parameter.
            var next = sameProcedureJob(read("/jobs/" + jobId + "/jobToRestart"), here);
            if (next === "" || visited.indexOf("," + next + ",") >= 0 || depth >= settings.chainLimit) {
                return false;
            }
            jobId = next;
            depth += 1;
        }
    }

    function readSettings() {
        var done = read("/myJob/resumeDoneOutcomes");
        if (done === "") {
            done = read(SETTINGS + "doneOutcomes");
        }
        if (done === "") {
            done = DEFAULT_DONE;
        }
        var chain = read(SETTINGS + "maxChainDepth");
        var chainLimit = /^\d+$/.test(chain) ? parseInt(chain, 10) : 0;
        return {
            // ",success,warning," so that membership is one indexOf, with no list literal
            done: "," + done.toLowerCase().replace(/\s+/g, "") + ",",
            chainLimit: chainLimit > 0 ? chainLimit : DEFAULT_CHAIN,
            perStep: read(SETTINGS + "rule").toLowerCase().replace(/\s+/g, "") === "perstep"
        };
    }

    function decide() {
        var here = {jobId: read("/myJob/jobId"), project: read("/myJob/projectName"),
                    procedure: read("/myJob/procedureName")};
        var jobId = sameProcedureJob(read("/myJob/jobToRestart"), here);
        if (jobId === "" || jobId === here.jobId || typeof myJobStep === "undefined") {
            return "true";
        }
        var path = stepPath();
        if (path === "" || read("/myJob/ec_resume/runAgain/" + path) !== "" ||
                atOrAfterStartStep(jobId, path)) {
            return "true";
        }
        return doneIn(jobId, path, here, readSettings()) ? "false" : "true";
    }

    try {
        return decide();
    } catch (e) {
        return "true";
    }
}());
]